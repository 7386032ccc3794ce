"""A TrainingJob that keeps what it emitted, for tests: ``history()`` and ``subscribe()`` are listeners."""

from __future__ import annotations

import queue

from receipt_core.training.job import TrainingJob


class RecordedJob(TrainingJob):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._recorded: list = []
        self.add_listener(self._recorded.append)

    def history(self) -> list:
        return list(self._recorded)

    def subscribe(self) -> queue.Queue:
        """A queue that receives every later event."""
        reader: queue.Queue = queue.Queue()
        self.add_listener(reader.put)
        return reader
