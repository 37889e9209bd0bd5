"""Package layout: the library lives in lib/mothertongue, the job entry points in jobs/.

Jobs are installed as `mothertongue.jobs` so that submitit can unpickle their callables on
compute nodes without relying on the current directory.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages("lib") + ["mothertongue.jobs"],
    package_dir={"": "lib", "mothertongue.jobs": "jobs"},
    include_package_data=True,
)
