"""One config loader for every job: YAML file + `key=value` overrides -> a typed dataclass.

Configs are validated on the login node, before anything reaches sbatch: unknown keys, wrong
types, missing input paths and job-specific impossibilities all raise `ConfigError`, which
names the key and the file so the researcher knows what to edit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

T = TypeVar("T")
log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A config problem that names the offending key (dotted) and the file it came from."""

    def __init__(self, key: str, message: str, source: str | Path | None = None):
        self.key, self.source = key, str(source) if source else None
        where = f" in {self.source}" if self.source else ""
        super().__init__(f"config key '{key}'{where}: {message}")


def input_path(default: Any = dataclasses.MISSING, *, optional: bool = False) -> Any:
    """A config field naming a file or folder the job reads.

    Input paths are checked for existence at submit time (unless an upstream stage of the
    same pipeline produces them) and fingerprinted into the stage manifest, so a stage whose
    inputs did not change is skipped on resubmission.
    """
    kwargs: dict[str, Any] = {"metadata": {"input": True, "optional": optional}}
    if isinstance(default, list):
        kwargs["default_factory"] = lambda: list(default)
    else:
        kwargs["default"] = default
    return field(**kwargs)


@dataclass
class Resources:
    """What a job asks Slurm for; cluster profiles add partition, account, container, ..."""

    nodes: int = 1
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    gpus_per_node: int = 0
    mem_gb: float | None = None
    time_min: int = 60
    array_parallelism: int = 64


def _fail(exc: OmegaConfBaseException, source: str | Path | None) -> ConfigError:
    key = getattr(exc, "full_key", None) or "?"
    message = str(exc).splitlines()[0]
    return ConfigError(key, message, source)


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` with a YAML value (`3`, `null`, `[a, b]`, `{k: v}`) -> (key, value)."""
    if "=" not in text:
        raise ConfigError(text, "overrides are key=value", "command-line overrides")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value) if value.strip() else ""


def load_config(
    schema: type[T],
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    settings: dict[str, Any] | None = None,
) -> T:
    """Build a `schema` instance from defaults, the YAML file, `key=value` overrides, then
    `settings` ({dotted key: value}, set by programs such as the pipeline). Dotted keys may
    index lists: `datasets.0.paths=[a, b]`."""
    merged = OmegaConf.structured(schema)
    source: str | Path | None = None
    try:
        if path is not None:
            source = Path(path)
            if not source.is_file():
                raise ConfigError("<file>", f"config file {source} does not exist")
            data = yaml.safe_load(source.read_text()) or {}
            if not isinstance(data, dict):
                raise ConfigError("<root>", "expected a mapping of keys to values", source)
            merged = OmegaConf.merge(merged, data)
        updates = [("command-line overrides", *parse_override(o)) for o in overrides or []]
        updates += [("pipeline settings", k, v) for k, v in (settings or {}).items()]
        for source, key, value in updates:
            if OmegaConf.select(merged, key, default="<absent>") == "<absent>" and "." in key:
                parent = OmegaConf.select(merged, key.rsplit(".", 1)[0], default=None)
                if parent is None:
                    raise ConfigError(key, "no such key", source)
            OmegaConf.update(merged, key, value, merge=True)
        missing = sorted(OmegaConf.missing_keys(merged))
        if missing:
            raise ConfigError(missing[0], "is required but has no value", path)
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise _fail(exc, source) from None


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain dict of a config dataclass (for manifests, pickling and printing)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dataclasses.asdict(cfg)


def as_input_path(value: Any) -> Path:
    """A config path value as a Path; `asset:<relative>` names a file shipped in mothertongue/assets/."""
    text = str(value)
    if text.startswith("asset:"):
        from mothertongue.corpora import ASSETS

        return ASSETS / text.removeprefix("asset:")
    return Path(text)


def input_paths(cfg: Any, prefix: str = "") -> dict[str, list[Path]]:
    """Every `input_path` field in `cfg` (recursively), as {dotted key: [paths]}."""
    found: dict[str, list[Path]] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        key = f"{prefix}{f.name}"
        if f.metadata.get("input"):
            values = value if isinstance(value, list) else [value]
            found[key] = [as_input_path(v) for v in values if v not in (None, "")]
        elif dataclasses.is_dataclass(value):
            found.update(input_paths(value, prefix=f"{key}."))
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                found.update(input_paths(item, prefix=f"{key}.{i}."))
    return found


_UPSTREAM: ContextVar[frozenset[Path]] = ContextVar("upstream_outputs", default=frozenset())
_LENIENT: ContextVar[bool] = ContextVar("lenient_inputs", default=False)


@contextlib.contextmanager
def upstream_outputs(folders: set[Path], lenient: bool = False) -> Iterator[None]:
    """While validating a pipeline stage: folders that earlier stages will have written.

    `lenient` (dry runs away from the cluster's filesystem): missing inputs are warned about.
    """
    tokens = (_UPSTREAM.set(frozenset(p.resolve() for p in folders)), _LENIENT.set(lenient))
    try:
        yield
    finally:
        _UPSTREAM.reset(tokens[0])
        _LENIENT.reset(tokens[1])


def will_exist(path: str | Path) -> bool:
    """True if `path` exists now or lies in a folder an upstream stage of this pipeline writes.

    Jobs' `validate` functions use this instead of `Path.exists` so that a pipeline validates
    every stage on the login node before the first stage has produced anything.
    """
    resolved = as_input_path(path).resolve()
    if resolved.exists() or any(resolved == q or q in resolved.parents for q in _UPSTREAM.get()):
        return True
    if _LENIENT.get():
        log.warning("input %s does not exist here (dry run: continuing)", path)
        return True
    return False


def check_inputs_exist(cfg: Any, source: str | Path | None = None, produced: set[Path] | None = None) -> None:
    """Fail at submit time when an input file is missing (unless an upstream stage makes it)."""
    produced = {p.resolve() for p in (produced or set())} | set(_UPSTREAM.get())
    for key, paths in input_paths(cfg).items():
        for p in paths:
            resolved = p.resolve()
            if any(c in str(p) for c in "*?["):  # a glob: fine if it matches, or its folder comes later
                if any(Path(resolved.anchor).glob(str(resolved.relative_to(resolved.anchor)))):
                    continue
                resolved = Path(*[part for part in resolved.parts if not any(c in part for c in "*?[")])
            if resolved.exists() or any(resolved == q or q in resolved.parents for q in produced):
                continue
            if _LENIENT.get():
                log.warning("%s: input path %s does not exist here (dry run: continuing)", key, p)
                continue
            raise ConfigError(key, f"input path {p} does not exist", source)
