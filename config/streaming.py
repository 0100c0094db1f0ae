"""Reading a million rows while writing others, on both databases the app runs on."""

import queue
import threading
from collections.abc import Iterator
from itertools import islice

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import QuerySet


def rows_streamed(rows: QuerySet, *, key: str, chunk_size: int = 5_000) -> Iterator[tuple]:
    """Each row of a `values_list()` query whose first column is `key`, in `key` order, never
    all in memory, while the caller writes and commits between rows.

    PostgreSQL: one server-side cursor. Outside a transaction it is opened on a connection of
    its own, in a read-only transaction there: on the caller's autocommit connection Django
    declares it WITH HOLD, and PostgreSQL then computes and stores every row before the first
    one arrives, instead of computing them while we use them (a million-recipient dispatch took
    11% longer). Keyset chunks were worse: 3x the time of a million-recipient plan, each chunk
    running the audience's joins again. Inside a transaction (a request's, a test's) the
    caller's own cursor streams, and its writes are part of that transaction anyway.

    SQLite: keyset chunks, each read whole before its rows are yielded. A statement left open
    while its own connection writes fails with "database is locked" as soon as another
    connection has written (a send plan stayed "running" for ever that way)."""
    rows = rows.order_by(key)
    if connection.vendor != "postgresql":
        yield from _keyset_chunks(rows, key=key, chunk_size=chunk_size)
    elif connection.in_atomic_block:
        yield from rows.iterator(chunk_size=chunk_size)
    else:
        yield from _on_a_reader_of_its_own(rows, chunk_size=chunk_size)


def _keyset_chunks(rows: QuerySet, *, key: str, chunk_size: int) -> Iterator[tuple]:
    last = None
    while True:
        chunk = list((rows if last is None else rows.filter(**{f"{key}__gt": last}))[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last = chunk[-1][0]


def _on_a_reader_of_its_own(rows: QuerySet, *, chunk_size: int) -> Iterator[tuple]:
    """The rows read ahead by a thread with a connection of its own: while the caller works
    on one chunk, PostgreSQL computes the next and the thread waits for it without the GIL
    (the caller's work and the server's were taking turns: a third of a ten-million-recipient
    send plan was spent waiting for the server)."""
    chunks: queue.Queue = queue.Queue(maxsize=READ_AHEAD_CHUNKS)
    stopped = threading.Event()
    reader = threading.Thread(
        target=_read_ahead,
        args=(rows, chunk_size, chunks, stopped),
        name="rows-streamed",
        daemon=True,
    )
    reader.start()
    try:
        while True:
            chunk = chunks.get()
            if isinstance(chunk, BaseException):
                raise chunk
            if chunk is _END:
                return
            yield from chunk
    finally:
        # The caller may stop early (a limit, an error of its own): the reader stops too, and
        # its connection closes before we return.
        stopped.set()
        while reader.is_alive():
            try:
                chunks.get_nowait()
            except queue.Empty:
                reader.join(timeout=0.05)


READ_AHEAD_CHUNKS = 2
_END = object()


def _read_ahead(
    rows: QuerySet, chunk_size: int, chunks: queue.Queue, stopped: threading.Event
) -> None:
    # Made, used and closed in this thread only (Django's connections are not shared).
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        reader.set_autocommit(False)  # so the cursor is not declared WITH HOLD
        compiler = rows.query.get_compiler(connection=reader)
        results = compiler.results_iter(
            tuple_expected=True, chunked_fetch=True, chunk_size=chunk_size
        )
        while not stopped.is_set():
            chunk = list(islice(results, chunk_size))
            if not chunk:
                _put(chunks, _END, stopped)
                return
            _put(chunks, chunk, stopped)
    except BaseException as error:  # the caller raises it, in its own thread
        _put(chunks, error, stopped)
    finally:
        reader.close()  # the read-only transaction ends with its connection


def _put(chunks: queue.Queue, item: object, stopped: threading.Event) -> None:
    while not stopped.is_set():
        try:
            chunks.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
