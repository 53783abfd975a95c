"""Dynamic batching for the model server: texts of concurrent requests go through one tagger call.

Each request puts its texts on a queue and awaits its own future. One worker takes the first
request, waits at most ``max_wait`` seconds for more (until ``max_texts`` texts are there), runs
the tagger once on all their texts in a worker thread, and hands each request exactly its own
slice of the result, in order. While a batch runs, new requests queue up and form the next one,
so under load the tagger sees large batches without any request waiting longer than one batch
plus ``max_wait``. A request whose client went away is skipped when results are handed out.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


class DynamicBatcher:
    def __init__(self, tag, max_wait: float = 0.005, max_texts: int = 64):
        self.tag, self.max_wait, self.max_texts = tag, max_wait, max_texts
        self.stats = {"requests": 0, "texts": 0, "batches": 0, "largest_batch": 0}
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tagger")  # the model runs in one thread

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def submit(self, texts: list[str]) -> list[list[dict]]:
        """The tagger's output for ``texts``, computed together with other requests' texts."""
        if not texts:
            return []
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((texts, future))
        return await future

    async def _next_batch(self) -> list[tuple[list[str], asyncio.Future]]:
        loop = asyncio.get_running_loop()
        batch = [await self._queue.get()]
        count, deadline = len(batch[0][0]), loop.time() + self.max_wait
        while count < self.max_texts:
            left = deadline - loop.time()
            try:
                item = self._queue.get_nowait() if left <= 0 else await asyncio.wait_for(self._queue.get(), left)
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                break
            batch.append(item)
            count += len(item[0])
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            texts = [text for request, _ in batch for text in request]
            self.stats["requests"] += len(batch)
            self.stats["texts"] += len(texts)
            self.stats["batches"] += 1
            self.stats["largest_batch"] = max(self.stats["largest_batch"], len(texts))
            try:
                results = await loop.run_in_executor(self._executor, self.tag, texts)
            except Exception as exc:  # noqa: BLE001 - every waiting request learns of it; the worker goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for request, future in batch:
                if not future.done():
                    future.set_result(results[start : start + len(request)])
                start += len(request)
