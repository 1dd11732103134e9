"""Worker processes for the rounds of a project run.

Each worker keeps the parses (and the scopes resolved on them) of its share of the files for
the whole run, so every round after the first costs analysis only, on every core. A file
always goes to the same worker: its number in the run modulo the number of workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

from autograd_migrate.engine import FileResult, process
from autograd_migrate.index import ProjectIndex


class Shards:
    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.workers: list[tuple[multiprocessing.Process, Connection]] = []  # started on first use

    def run(self, work: list[tuple[int, Path, bytes]], index: ProjectIndex | None, unsafe: bool) -> list[FileResult]:
        """`work`: (the file's number in the run, path, bytes); results in the order of `work`.
        A worker that dies leaves its share to this process."""
        if not self.workers:
            self._start()
        shares: list[list[int]] = [[] for _ in self.workers]
        for position, (number, _, _) in enumerate(work):
            shares[number % len(self.workers)].append(position)
        for (_, conn), share in zip(self.workers, shares, strict=True):
            conn.send(([work[p][1:] for p in share], index, unsafe))
        results: list[FileResult | None] = [None] * len(work)
        for (_, conn), share in zip(self.workers, shares, strict=True):
            try:
                done = conn.recv()
            except (EOFError, OSError):
                done = [process(path, data, index=index, unsafe=unsafe) for _, path, data in (work[p] for p in share)]
            for position, result in zip(share, done, strict=True):
                results[position] = result
        return results

    def _start(self) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        for _ in range(self.jobs):
            mine, theirs = context.Pipe()
            worker = context.Process(target=_serve, args=(theirs,), daemon=True)
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


def _serve(conn: Connection) -> None:
    parsed: dict = {}  # this worker's share of the parses, kept across the rounds
    while (message := conn.recv()) is not None:
        share, index, unsafe = message
        conn.send([process(path, data, False, index, parsed, unsafe) for path, data in share])
