"""One thin entry point per job, installed as `mothertongue.jobs.<name>`.

Every job module follows the same contract, so the launcher and the pipeline treat them alike:

    Config                  the job's config dataclass (fields `output_dir` and `resources`)
    main(cfg) -> dict       do the work into cfg.output_dir; return counts/outputs for the manifest
    validate(cfg)           optional: login-node checks beyond types; raise ConfigError(key, ...)
    array_size(cfg) -> int  optional: number of Slurm array tasks for `main_shard`
    main_shard(cfg, index)  optional: one array task's share; `main` then merges the shards

Read a job module top to bottom to see what the job does; the work is in `mothertongue.<area>`.
"""
