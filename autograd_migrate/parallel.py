"""Worker processes for the rounds of a project run.

Each worker keeps the parses (and the scopes and analyses made on them) of its share of the
files for the whole run, so a round after the first costs only what its better index changes,
on every core. A file always goes to the same worker: its number in the run modulo the number
of workers. Workers forked after rounds that were too small for them inherit those parses.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from autograd_migrate.engine import FileResult, process
from autograd_migrate.index import ProjectIndex


class Shards:
    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.workers: list[tuple[multiprocessing.Process, Connection]] = []  # started on first use

    def run(
        self,
        work: list[tuple[int, Path, bytes]],
        index: ProjectIndex | None,
        unsafe: bool,
        parsed: dict,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[FileResult]:
        """`work`: (the file's number in the run, path, bytes); results in the order of `work`.
        A worker that dies leaves its share to this process. Workers start on first use, with
        the parses this process made so far (`parsed`, when they are forked: nothing to copy).
        `meanwhile` runs here while the workers work."""
        if not self.workers:
            self._start(parsed)
        shares: list[list[int]] = [[] for _ in self.workers]
        for position, (number, _, _) in enumerate(work):
            shares[number % len(self.workers)].append(position)
        for (_, conn), share in zip(self.workers, shares, strict=True):
            conn.send(([work[p][1:] for p in share], index, unsafe))
        if meanwhile is not None:
            meanwhile()
        results: list[FileResult | None] = [None] * len(work)
        for (_, conn), share in zip(self.workers, shares, strict=True):
            try:
                done = conn.recv()
            except (EOFError, OSError):
                done = [process(path, data, index=index, unsafe=unsafe) for _, path, data in (work[p] for p in share)]
            for position, result in zip(share, done, strict=True):
                results[position] = result
        return results

    def _start(self, parsed: dict) -> None:
        fork = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if fork else None)
        for _ in range(self.jobs):
            mine, theirs = context.Pipe()
            worker = context.Process(target=_serve, args=(theirs, parsed if fork else {}), daemon=True)
            worker.start()
            theirs.close()
            self.workers.append((worker, mine))

    def close(self) -> None:
        for worker, conn in self.workers:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
            worker.join(timeout=5)
        self.workers = []


def _serve(conn: Connection, parsed: dict) -> None:
    """`parsed`: the parses kept across the rounds (engine._Kept), this worker's share of them."""
    while (message := conn.recv()) is not None:
        share, index, unsafe = message
        conn.send([process(path, data, False, index, parsed, unsafe) for path, data in share])
