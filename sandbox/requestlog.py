"""The sandbox's record of every BSG request it received, for tests and demos to inspect.

Bounded on both axes so that a load test of a million messages does not keep a million phone
numbers twice: at most ``size`` entries (oldest dropped), and within each body any array longer
than ``LIST_LIMIT`` keeps its first items (``json_truncated`` says so). API keys are never kept:
any ``api_key`` value is recorded as "***".
"""

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field

LIST_LIMIT = 100
MASK = "***"
SECRET_KEYS = frozenset({"api_key"})


def masked(value: object) -> tuple[object, bool]:
    """(copy of a JSON value with secrets masked and long arrays cut, whether anything was cut)."""
    if isinstance(value, dict):
        cut = False
        out: dict[str, object] = {}
        for key, item in value.items():
            if key in SECRET_KEYS:
                out[key] = MASK
                continue
            out[key], item_cut = masked(item)
            cut = cut or item_cut
        return out, cut
    if isinstance(value, list):
        items = []
        cut = len(value) > LIST_LIMIT
        for item in value[:LIST_LIMIT]:
            copy, item_cut = masked(item)
            items.append(copy)
            cut = cut or item_cut
        return items, cut
    return value, False


@dataclass
class LoggedRequest:
    id: int
    time: str  # BSG format, sandbox time zone
    timestamp: float  # unix seconds, sandbox clock
    method: str
    path: str
    query: dict[str, object]
    json: object
    json_truncated: bool
    fault: str | None
    status: int | None = None  # what the client received; None when nothing was answered
    processed_status: int | None = None  # what processing produced; None when not processed
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "time": self.time,
            "timestamp": self.timestamp,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "json": self.json,
            "json_truncated": self.json_truncated,
            "status": self.status,
            "processed_status": self.processed_status,
            "fault": self.fault,
            **self.extra,
        }


class RequestLog:
    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=size)
        self._ids = itertools.count(1)

    def record(
        self,
        *,
        time: str,
        timestamp: float,
        method: str,
        path: str,
        query: dict[str, object],
        body: object,
        fault: str | None,
    ) -> LoggedRequest:
        json_body, truncated = masked(body)
        with self._lock:
            entry = LoggedRequest(
                id=next(self._ids),
                time=time,
                timestamp=timestamp,
                method=method,
                path=path,
                query=query,
                json=json_body,
                json_truncated=truncated,
                fault=fault,
            )
            self._entries.append(entry)
        return entry

    def entries(
        self, *, path_prefix: str = "", method: str = "", since: int = 0
    ) -> list[dict[str, object]]:
        with self._lock:
            entries = list(self._entries)
        return [
            entry.to_dict()
            for entry in entries
            if entry.id > since
            and entry.path.startswith(path_prefix)
            and (not method or entry.method == method.upper())
        ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._ids = itertools.count(1)
