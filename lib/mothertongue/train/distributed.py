"""Process group and device mesh from the environment (the launcher or torchrun exports it).

One code path for CPU (gloo) and GPU (NCCL). The mesh is 3-D, (dp_replicate, dp_shard, tp),
as in torchtitan's ParallelDims: FSDP2 shards over dp_shard (HSDP replicates over
dp_replicate), DTensor TP uses tp. Size-1 dimensions cost nothing.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

from mothertongue.train.config import ParallelConfig


@dataclass
class Dist:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    mesh: DeviceMesh
    dp_replicate: int
    dp_shard: int
    tp: int

    @property
    def dp_mesh(self) -> DeviceMesh:
        """The mesh FSDP2 shards (1-D) or shards and replicates (2-D, HSDP) over."""
        return self.mesh["dp_replicate", "dp_shard"] if self.dp_replicate > 1 else self.mesh["dp_shard"]

    @property
    def tp_mesh(self) -> DeviceMesh:
        return self.mesh["tp"]

    @property
    def dp_size(self) -> int:
        return self.dp_replicate * self.dp_shard

    @property
    def dp_rank(self) -> int:
        """Which slice of each global batch this rank reads (TP peers read the same one)."""
        return self.mesh.get_local_rank("dp_replicate") * self.dp_shard + self.mesh.get_local_rank("dp_shard")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_distributed(pc: ParallelConfig, device: str = "auto") -> Dist:
    """Initialise the process group (also for one process) and build the mesh."""
    if "WORLD_SIZE" not in os.environ:
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
        backend = "cpu:gloo,cuda:nccl"  # gloo for the few CPU-side object collectives
    else:
        dev, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    dp_shard = pc.dp_shard if pc.dp_shard != -1 else world // (pc.dp_replicate * pc.tp)
    if pc.dp_replicate * dp_shard * pc.tp != world:
        raise ValueError(
            f"parallel: dp_replicate={pc.dp_replicate} x dp_shard={dp_shard} x tp={pc.tp} != world size {world}"
        )
    mesh = init_device_mesh(
        dev.type, (pc.dp_replicate, dp_shard, pc.tp), mesh_dim_names=("dp_replicate", "dp_shard", "tp")
    )
    _cpu_group()  # collective: create it now, on every rank
    return Dist(rank, world, local_rank, dev, mesh, pc.dp_replicate, dp_shard, pc.tp)


def all_reduce_mean(value: torch.Tensor | float, world_size: int) -> float:
    """Mean over all ranks (gloo has no AVG); TP peers hold equal values, so this is the DP mean."""
    t = torch.as_tensor(value, dtype=torch.float64).detach().cpu().reshape(1).clone()
    if dist.is_initialized() and world_size > 1:
        dist.all_reduce(t, group=_cpu_group())
    return float(t.item() / world_size) if world_size > 1 else float(t.item())


def any_rank(flag: bool) -> bool:
    """True on every rank when it is True on one (preemption requests, faults)."""
    t = torch.tensor([1 if flag else 0], dtype=torch.int64)
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t, group=_cpu_group())
    return bool(t.item())


def broadcast_object(obj: object) -> object:
    """Rank 0's value everywhere (which checkpoint to load, the W&B run id)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, group=_cpu_group())
    return box[0]


def barrier() -> None:
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier(group=_cpu_group())


_CPU_GROUP = None


def _cpu_group():
    """A gloo group for small CPU tensors (the default group is NCCL on GPUs)."""
    global _CPU_GROUP
    if _CPU_GROUP is None:
        _CPU_GROUP = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else dist.group.WORLD
    return _CPU_GROUP


def teardown() -> None:
    global _CPU_GROUP
    if dist.is_initialized():
        dist.destroy_process_group()
    _CPU_GROUP = None
