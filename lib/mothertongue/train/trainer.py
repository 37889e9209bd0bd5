"""The pretraining loop, with a lifecycle you can follow top to bottom (torchtitan's shape).

Trainer(cfg)      init distributed -> build model -> parallelize -> optimizer ->
                  data -> checkpointer (resume) -> tracker -> preemption watcher
.train()          step: batches by sample index -> forward/backward -> clip ->
                  spike guard (skip / roll back) -> optimizer step -> log ->
                  validate -> checkpoint; preemption: save, requeue, exit
.close()          finish W&B, tear down the process group
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.distributed.tensor import DTensor

from mothertongue.config import to_dict
from mothertongue.io import atomic_write_json
from mothertongue.launcher.preemption import (
    PreemptionWatcher,
    requeue_and_exit,
    send_usr2_to_own_job,
    under_slurm,
)
from mothertongue.train.checkpoint import Checkpointer
from mothertongue.train.config import PretrainConfig, check_config
from mothertongue.train.data import build_datasets, micro_batches
from mothertongue.train.distributed import (
    all_reduce_mean,
    any_rank,
    barrier,
    broadcast_object,
    init_distributed,
    teardown,
)
from mothertongue.train.lr import lr_at
from mothertongue.train.model import (
    build_model,
    build_model_on_meta,
    count_params,
    flops_per_token,
    load_full_state_from_rank0,
    save_model_meta,
    tokenizer_dir,
)
from mothertongue.train.parallelize import parallelize
from mothertongue.train.spike_guard import SpikeGuard, SpikeGuardExhausted
from mothertongue.train.tracking import Tracker, peak_tflops

log = logging.getLogger(__name__)
warnings.filterwarnings("ignore", message="FSDP2-wrapped module")
FAULTS = "faults.json"  # faults already injected: written the moment they fire, read on restart


def _cpu_threads(world_size: int) -> int:
    """Threads per rank on CPU: Slurm's cpus_per_task, else the cores shared by this node's ranks."""
    if os.environ.get("SLURM_CPUS_PER_TASK", "").isdigit():
        return max(1, int(os.environ["SLURM_CPUS_PER_TASK"]))
    local = os.environ.get("LOCAL_WORLD_SIZE") or os.environ.get("SLURM_NTASKS_PER_NODE", "").split("(")[0]
    local_n = int(local) if local and local.isdigit() else world_size
    return max(1, (os.cpu_count() or 1) // max(1, local_n))


def attempt_number() -> int:
    return int(os.environ.get("SLURM_RESTART_COUNT", "0")) + 1


class Trainer:
    def __init__(self, cfg: PretrainConfig):
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        check_config(cfg, int(os.environ.get("WORLD_SIZE", "1")))
        self.d = d = init_distributed(cfg.parallel, cfg.device)
        if d.device.type == "cpu":
            torch.set_num_threads(_cpu_threads(d.world_size))
        if d.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            if cfg.model.path:  # a .gguf base is converted once, by one rank, before the others read it
                from mothertongue.models import resolve_model_path

                resolve_model_path(cfg.model.path)
        barrier()

        # model -> parallelize -> optimizer
        if cfg.model.path and cfg.model.init_on_meta and d.world_size > 1:
            self.model, full_state = build_model_on_meta(cfg.model, d.is_main)
        else:
            self.model, full_state = build_model(cfg.model, cfg.seed), None
        self.model_config = self.model.config
        self.n_params, n_no_emb = count_params(self.model)
        self.flops_per_token = flops_per_token(self.model_config, n_no_emb, cfg.seq_length)
        self._tok_dir = tokenizer_dir(cfg.model)
        parallelize(self.model, cfg.parallel, d)
        if self.model.device.type == "meta" or any(p.is_meta for p in self.model.parameters()):
            load_full_state_from_rank0(self.model, full_state, d.device)
            del full_state
        self.optimizer = self._build_optimizer()

        # data, spike guard, checkpoints
        sc = cfg.spike
        datasets = build_datasets(
            cfg, self._tok_dir, extra_train_batches=sc.max_rollbacks * sc.skip_batches + 1
        )
        self.train_ds, self.valid_ds = datasets["train"], datasets["valid"]
        if self.train_ds is None:
            raise ValueError(f"blend {cfg.data.blend} has no train split")
        self.guard = SpikeGuard(sc)
        self.step, self.pointer, self.tokens_seen = 0, 0, 0
        self.ckpt = Checkpointer(self.out / "checkpoints", cfg.checkpoint, d.is_main)
        skipped: list[tuple[str, str]] = []
        found = (
            self.ckpt.find(on_skip=lambda p, why: skipped.append((str(p), why)))
            if cfg.checkpoint.resume
            else None
        )
        run_id = None
        if found is not None:
            state = self._load(found, keep_persistent=False)
            run_id = state.get("wandb_run_id")
        self.guard.state.faults_fired = sorted(set(self.guard.state.faults_fired) | set(self._read_faults()))

        self.tracker = Tracker(self.out, cfg.tracking, d.is_main, run_id, to_dict(cfg))
        self.run_id = broadcast_object(self.tracker.run_id)
        for path, why in skipped:
            self.tracker.event("checkpoint_skipped", path=path, reason=why)
        if found is not None:
            self.tracker.event(
                "resume",
                step=self.step,
                checkpoint=str(found),
                consumed_samples=self.pointer,
                attempt=attempt_number(),
                world_size=d.world_size,
                wandb_run_id=self.run_id,
            )
        else:
            self.tracker.event(
                "start",
                step=0,
                attempt=attempt_number(),
                world_size=d.world_size,
                params=self.n_params,
                wandb_run_id=self.run_id,
            )
        self.preemption = PreemptionWatcher.install()
        self.peak = peak_tflops()

    # -- building blocks -------------------------------------------------------------------
    def _build_optimizer(self) -> torch.optim.Optimizer:
        """AdamW; no weight decay on norms, biases and embeddings; fused on GPU."""
        oc = self.cfg.optim
        emb = {id(self.model.get_input_embeddings().weight), id(self.model.get_output_embeddings().weight)}
        groups: dict[str, list] = {"decay": [], "no_decay": [], "embeddings": []}
        for p in self.model.parameters():
            key = "embeddings" if id(p) in emb else ("decay" if p.ndim >= 2 else "no_decay")
            groups[key].append(p)
        param_groups = [
            {"params": groups["decay"], "weight_decay": oc.weight_decay, "name": "decay"},
            {"params": groups["no_decay"], "weight_decay": 0.0, "name": "no_decay"},
            {"params": groups["embeddings"], "weight_decay": 0.0, "name": "embeddings"},
        ]
        fused = self.d.device.type == "cuda"
        return torch.optim.AdamW(
            [g for g in param_groups if g["params"]],
            lr=oc.lr,
            betas=(oc.beta1, oc.beta2),
            eps=oc.eps,
            fused=fused,
            foreach=not fused,
        )

    def _meta_writer(self, folder: Path) -> None:
        save_model_meta(self.model, self.cfg.model, folder)

    def _trainer_state(self) -> dict:
        return {
            "step": self.step,
            "consumed_samples": self.pointer,
            "tokens_seen": self.tokens_seen,
            "guard": self.guard.state_dict(),
            "wandb_run_id": getattr(self, "run_id", None),
            "world_size": self.d.world_size,
            "mesh": {"dp_replicate": self.d.dp_replicate, "dp_shard": self.d.dp_shard, "tp": self.d.tp},
            "global_batch_size": self.cfg.global_batch_size,
            "seq_length": self.cfg.seq_length,
            "base_model": self.cfg.model.path,
        }

    def _load(self, path: Path, keep_persistent: bool) -> dict:
        state = self.ckpt.load(path, self.model, self.optimizer)
        self.step, self.pointer = int(state["step"]), int(state["consumed_samples"])
        self.tokens_seen = int(state.get("tokens_seen", 0))
        self.guard.load_state_dict(state["guard"], keep_persistent=keep_persistent)
        return state

    def _read_faults(self) -> list[str]:
        path = self.out / FAULTS
        return json.loads(path.read_text()) if path.is_file() else []

    def _fire_fault(self, name: str) -> bool:
        """True exactly once per run for each named fault (survives rollback and requeue)."""
        if name in self.guard.state.faults_fired:
            return False
        self.guard.state.faults_fired.append(name)
        if self.d.is_main:
            atomic_write_json(self.out / FAULTS, sorted(set(self._read_faults()) | {name}))
        barrier()
        self.tracker.event("fault_injected", fault=name, step=self.step + 1)
        return True

    def save(self) -> None:
        self.ckpt.save(self.step, self.model, self.optimizer, self._trainer_state(), self._meta_writer)
        self.tracker.event("checkpoint", step=self.step, consumed_samples=self.pointer)

    # -- one step --------------------------------------------------------------------------
    def _loss(self, batch) -> torch.Tensor:
        dev = self.d.device
        logits = self.model(input_ids=batch.tokens.to(dev), position_ids=batch.position_ids.to(dev)).logits
        ce = F.cross_entropy(logits.float().flatten(0, 1), batch.labels.to(dev).flatten(), reduction="none")
        mask = batch.loss_mask.to(dev).flatten().float()
        return (ce * mask).sum() / mask.sum().clamp(min=1)

    def train_step(self, batches: list) -> tuple[float, float]:
        """Forward/backward over this rank's micro-batches, then the global grad norm (clipped)."""
        cfg, step = self.cfg, self.step + 1
        fault = cfg.fault.spike_at_step == step and self._fire_fault(f"spike@{step}")
        if fault and cfg.fault.kind == "corrupt_batch":
            g = torch.Generator().manual_seed(cfg.seed + step)
            for b in batches:
                b.tokens = torch.randint(0, self.model_config.vocab_size, b.tokens.shape, generator=g)
        total = torch.zeros((), device=self.d.device)
        for b in batches:
            loss = self._loss(b) / len(batches)
            if fault and cfg.fault.kind == "scale_loss":
                loss = loss * cfg.fault.scale
            loss.backward()
            total += loss.detach()
        if step <= cfg.optim.new_embeddings_only_steps:
            self._keep_only_new_embedding_grads()
        grad_norm = self._clip_grad_norm(cfg.optim.grad_clip)
        return all_reduce_mean(total, self.d.world_size), grad_norm

    def _clip_grad_norm(self, max_norm: float) -> float:
        params = [p for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in params], 2.0, False, foreach=True)
        if isinstance(norm, DTensor):
            norm = norm.full_tensor()
        if max_norm > 0:
            torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm, foreach=True)
        return float(norm)

    def _keep_only_new_embedding_grads(self) -> None:
        """Phase 1 after vocabulary extension: only rows >= base_vocab_size of the embeddings learn."""
        from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

        base = self.cfg.model.base_vocab_size
        emb = {id(self.model.get_input_embeddings().weight), id(self.model.get_output_embeddings().weight)}
        for p in self.model.parameters():
            if p.grad is None:
                continue
            if id(p) not in emb:
                p.grad.zero_()
                continue
            g = p.grad
            local = g.to_local() if isinstance(g, DTensor) else g
            offset = (
                compute_local_shape_and_global_offset(g.shape, g.device_mesh, g.placements)[1][0]
                if isinstance(g, DTensor)
                else 0
            )
            n_old = max(0, min(local.shape[0], base - offset))
            local[:n_old].zero_()

    def _set_lr(self) -> float:
        step = self.step + 1
        lr = lr_at(step, self.cfg.optim, self.cfg.steps) * self.guard.lr_scale(step)
        embeddings_only = step <= self.cfg.optim.new_embeddings_only_steps
        for group in self.optimizer.param_groups:
            # lr 0 also stops decoupled weight decay from moving the frozen weights
            group["lr"] = 0.0 if embeddings_only and group.get("name") != "embeddings" else lr
        return lr

    @torch.no_grad()
    def validate(self) -> float | None:
        if self.valid_ds is None:
            return None
        total, n = 0.0, 0
        for i in range(self.cfg.val_batches):
            for b in micro_batches(
                self.valid_ds,
                i * self.cfg.global_batch_size,
                self.cfg.global_batch_size,
                self.cfg.micro_batch_size,
                self.d.dp_rank,
                self.d.dp_size,
            ):
                total += float(self._loss(b))
                n += 1
        val = all_reduce_mean(total / max(1, n), self.d.world_size)
        self.tracker.metrics({"step": self.step, "val_loss": val})
        return val

    # -- the loop --------------------------------------------------------------------------
    def train(self) -> dict:
        cfg, d = self.cfg, self.d
        gb, tokens_per_step = cfg.global_batch_size, cfg.global_batch_size * cfg.seq_length
        last_loss, val = None, None
        if d.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        while self.step < cfg.steps:
            if (
                cfg.fault.preempt_at_step == self.step
                and f"preempt@{self.step}" not in self.guard.state.faults_fired
            ):
                self._fire_fault(f"preempt@{self.step}")
                send_usr2_to_own_job(d.rank)  # a real USR2 through Slurm; handled like any other
            if any_rank(self.preemption.requested):
                self.preempt()
            start = self.guard.next_sample(self.pointer)
            batches = micro_batches(self.train_ds, start, gb, cfg.micro_batch_size, d.dp_rank, d.dp_size)
            t0 = time.perf_counter()
            lr = self._set_lr()
            loss, grad_norm = self.train_step(batches)
            reason = self.guard.check(loss, grad_norm)
            if reason is not None:
                self._handle_spike(loss, grad_norm, lr, start, reason)
                continue
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            if d.device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            self.guard.accept(loss, grad_norm)
            self.step, self.pointer = self.step + 1, start + gb
            self.tokens_seen += tokens_per_step
            last_loss = loss
            if self.step % cfg.tracking.log_every == 0 or self.step == cfg.steps:
                self.tracker.metrics(self._step_metrics(loss, grad_norm, lr, dt, tokens_per_step))
            if cfg.val_every > 0 and (self.step % cfg.val_every == 0 or self.step == cfg.steps):
                val = self.validate()
            if self.step % cfg.checkpoint.every == 0 or (
                self.step == cfg.steps and cfg.checkpoint.save_final
            ):
                self.save()
            if cfg.fault.step_delay_s > 0:
                time.sleep(cfg.fault.step_delay_s)
        self.ckpt.wait()
        self.tracker.event("finished", step=self.step, loss=last_loss, val_loss=val, attempt=attempt_number())
        return {
            "steps": self.step,
            "final_loss": last_loss,
            "val_loss": val,
            "tokens_seen": self.tokens_seen,
            "consumed_samples": self.pointer,
            "wandb_run_id": self.run_id,
            "rollbacks": self.guard.state.rollbacks,
            "skipped_steps": self.guard.state.skips,
        }

    def _step_metrics(self, loss: float, grad_norm: float, lr: float, dt: float, tokens: int) -> dict:
        tps = tokens / dt
        tflops = self.flops_per_token * tps / self.d.world_size / 1e12
        rec = {
            "step": self.step,
            "loss": loss,
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens_per_s": tps,
            "tokens_per_s_per_device": tps / self.d.world_size,
            "step_time_s": dt,
            "tflops_per_device": tflops,
            "consumed_samples": self.pointer,
        }
        if self.peak:
            rec["mfu"] = tflops / self.peak
        if self.d.device.type == "cuda":
            rec["memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
        else:
            import resource

            rec["memory_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        return rec

    def _handle_spike(self, loss: float, grad_norm: float, lr: float, start: int, reason: str) -> None:
        step = self.step + 1
        self.optimizer.zero_grad(set_to_none=True)
        self.tracker.metrics({"step": step, "loss": loss, "grad_norm": grad_norm, "lr": lr, "spike": True})
        self.tracker.event(
            "spike", step=step, loss=loss, grad_norm=grad_norm, reason=reason, batch_start=start
        )
        target = self.ckpt.find(max_step=self.step) if self.cfg.spike.policy == "rollback" else None
        try:
            decision = self.guard.on_spike(
                step, start, self.cfg.global_batch_size, can_roll_back=target is not None
            )
        except SpikeGuardExhausted as exc:
            self.tracker.event("spike_guard_failed", step=step, error=str(exc))
            raise
        if decision["action"] == "rollback":
            self._load(target, keep_persistent=True)
            self.tracker.event(
                "rollback",
                step=step,
                to_step=self.step,
                checkpoint=str(target),
                skip_window=decision["skip_window"],
                rollbacks=decision["rollbacks"],
                lr_factor=self.guard.state.lr_factor,
                lr_factor_until=self.guard.state.lr_factor_until,
            )
        else:
            if self.cfg.spike.policy == "rollback":
                self.tracker.event("rollback_unavailable", step=step, reason="no complete checkpoint yet")
            self.step, self.pointer = step, start + self.cfg.global_batch_size
            self.tracker.event(
                "skip_step", step=step, skips=decision["skips"], skip_window=[start, self.pointer]
            )

    def preempt(self) -> None:
        """USR2/SIGTERM: checkpoint now, ask Slurm to requeue, exit (the next attempt resumes)."""
        self.save()
        self.ckpt.wait()
        self.tracker.event(
            "preempted",
            step=self.step,
            attempt=attempt_number(),
            signal=self.preemption.signal_name,
        )
        if under_slurm():
            self.tracker.event(
                "requeued",
                step=self.step,
                attempt=attempt_number(),
                next_attempt=attempt_number() + 1,
                slurm_job=os.environ.get("SLURM_JOB_ID"),
            )
        self.tracker.close(exit_code=0)
        barrier()
        teardown()
        requeue_and_exit(self.d.rank)

    def close(self) -> None:
        self.ckpt.wait()
        self.tracker.close()
        teardown()
