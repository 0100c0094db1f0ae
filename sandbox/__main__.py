"""python -m sandbox --port 8025 --api-key KEY: the sandbox in the foreground.

``build_arg_parser`` and ``config_from_args`` are shared with ``manage.py bsg_sandbox``.
"""

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from sandbox.config import SandboxConfig
from sandbox.faults import Faults, FaultsError
from sandbox.server import SandboxServer


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount") from None


DESCRIPTION = "A local stand-in for the BSG One API: same paths, rules and answers."


def build_arg_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_sandbox_arguments(parser)
    return parser


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's options, on this module's parser and on `manage.py bsg_sandbox`'s."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8025, help="port (0 picks a free one)")
    parser.add_argument(
        "--api-key",
        default=None,
        help="the API key POST /api/auth/login accepts (required; never printed)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="campaign pace multiplier")
    parser.add_argument("--seed", type=int, default=0, help="seed for outcomes and faults")
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime, s")
    parser.add_argument("--time-zone", default="UTC", help="zone of every date BSG reads/writes")
    parser.add_argument("--balance", type=_decimal, default=Decimal("1000.00"))
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--credit", type=_decimal, default=Decimal("0"))
    parser.add_argument(
        "--duplicate-window",
        type=float,
        default=2.0,
        help="seconds in which an identical request answers 429 (0 = off)",
    )
    faults = parser.add_argument_group("fault injection (probabilities 0..1, /api/ paths only)")
    faults.add_argument("--fault-5xx", type=_probability, default=0.0, help="answer 5xx")
    faults.add_argument("--fault-429", type=_probability, default=0.0, help="answer 429")
    faults.add_argument("--fault-slow", type=_probability, default=0.0, help="answer late")
    faults.add_argument(
        "--fault-hang", type=_probability, default=0.0, help="process, then never answer"
    )
    faults.add_argument(
        "--fault-drop", type=_probability, default=0.0, help="close the connection unprocessed"
    )
    faults.add_argument("--fault-slow-delay", type=float, default=2.0, help="seconds")
    faults.add_argument("--fault-hang-timeout", type=float, default=30.0, help="seconds")
    faults.add_argument("--fault-retry-after", type=int, default=1, help="Retry-After of a 429")
    faults.add_argument("--fault-path-prefix", default="", help="e.g. /api/campaigns/sms")
    parser.add_argument(
        "--verbose", action="store_true", help="print one line per request on stderr"
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the parsed arguments describe (ValueError when they do not add up)."""
    faults = Faults(
        error_5xx=args.fault_5xx,
        error_429=args.fault_429,
        slow=args.fault_slow,
        hang=args.fault_hang,
        drop=args.fault_drop,
        slow_delay=args.fault_slow_delay,
        hang_timeout=args.fault_hang_timeout,
        retry_after=args.fault_retry_after,
        path_prefix=args.fault_path_prefix,
    )
    return SandboxConfig(
        api_key=args.api_key or "",
        token_ttl=args.token_ttl,
        speed=args.speed,
        seed=args.seed,
        time_zone=args.time_zone,
        balance=args.balance,
        currency=args.currency,
        credit=args.credit,
        duplicate_window=args.duplicate_window,
        faults=faults,
        verbose=args.verbose,
    )


def describe(server: SandboxServer) -> str:
    config = server.config
    faults = server.state.faults
    lines = [
        f"BSG sandbox listening on {server.url}",
        f"  speed x{config.speed:g}, seed {config.seed}, time zone {config.time_zone}, "
        f"token lifetime {config.token_ttl:g} s, balance {config.balance} {config.currency}",
        f"  inspect: {server.url}/_sandbox/",
    ]
    if faults.any:
        lines.append(f"  faults: {faults.to_dict()}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_arg_parser(prog="python -m sandbox")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("--api-key is required")
    try:
        config = config_from_args(args)
    except (FaultsError, ValueError) as problem:
        parser.error(str(problem))
    server = SandboxServer(config, host=args.host, port=args.port)
    print(describe(server), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
