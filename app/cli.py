"""The `opswatchdog` command: thin wiring of the parts (parse, tools serve, demo)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from app.collect_cmd import add_collect_parsers
from app.incident_cmd import add_incident_parsers
from app.knowledge_cmd import add_knowledge_parser
from app.metrics_cmd import add_metrics_parser
from app.plan_upgrade_cmd import add_plan_upgrade_parser
from app.serve_cmd import add_serve_parser
from tools_server.parsers import PARSERS, ParseError, parse


def _parse_cmd(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(errors="replace")
    except OSError as exc:
        print(f"opswatchdog parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        model = parse(args.kind, text)
    except ParseError as exc:
        print(f"opswatchdog parse: {args.file} is not readable as {args.kind}: {exc}", file=sys.stderr)
        return 1
    print(model.model_dump_json(indent=2))
    return 0


def _tools_serve(args: argparse.Namespace) -> int:
    from tools_server.serve import ServeError, serve_http, serve_stdio
    from tools_server.settings import Settings

    overrides = {k: v for k, v in (("mcp_host", args.host), ("mcp_port", args.port)) if v is not None}
    settings = Settings(**overrides)
    try:
        asyncio.run(serve_stdio(settings) if args.transport == "stdio" else serve_http(settings))
    except ServeError as exc:
        print(f"opswatchdog tools serve: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def _demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return asyncio.run(run_demo(hosts=args.hosts, scenario=args.scenario, out=args.out, assume_yes=args.yes))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="opswatchdog", description="AI operations agent: inspect, diagnose, notify.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    parse_p = sub.add_parser("parse", help="parse command output into JSON (for debugging parsers)")
    parse_p.add_argument("kind", choices=sorted(PARSERS))
    parse_p.add_argument("file", help="file with the command's output, or - for stdin")
    parse_p.set_defaults(func=_parse_cmd)

    tools = sub.add_parser("tools", help="the MCP tools server").add_subparsers(dest="tools_command", required=True)
    serve = tools.add_parser("serve", help="serve the ops tools over MCP")
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", help="bind address for http (default 127.0.0.1, OPSWD_MCP_HOST)")
    serve.add_argument("--port", type=int, help="port for http (default 8765, OPSWD_MCP_PORT)")
    serve.set_defaults(func=_tools_serve)

    add_metrics_parser(sub)
    add_plan_upgrade_parser(sub)
    add_collect_parsers(sub)
    add_incident_parsers(sub)
    add_knowledge_parser(sub)
    add_serve_parser(sub)

    demo = sub.add_parser("demo", help="start a simulated fleet and inspect all of it through the MCP server")
    demo.add_argument("--hosts", type=int, default=20)
    demo.add_argument("--scenario", default="demo", help="built-in scenario name or a scenario YAML file")
    demo.add_argument("--out", type=Path, help="keep the fleet's inventory, keys, databases and outbox here")
    demo.add_argument("--yes", action="store_true", help="accept every approval (unattended)")
    demo.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `opswatchdog` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
