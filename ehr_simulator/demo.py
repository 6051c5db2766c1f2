"""`bedside demo`: Bedside and the EHR simulator together, on loopback, in one process.

Two uvicorn servers share one asyncio loop. Bedside uses an embedded SQLite database in a
data directory, plain-http cookies (cookie_secure off: the demo is not behind TLS) and the
simulator registered as its EHR (client_secret_basic or private_key_jwt).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from ehr_simulator.app import create_sim_app
from ehr_simulator.outcomes import seed_demo_outcomes
from ehr_simulator.registration import register_simulator
from ehr_simulator.state import ClientAuth, SimConfig
from service.app import create_app
from service.settings import Settings

log = logging.getLogger("bedside.demo")
HOST = "127.0.0.1"


@dataclass
class Demo:
    """Both apps and their servers; `stop()` asks both to shut down."""

    settings: Settings
    config: SimConfig
    bedside: FastAPI
    sim: FastAPI
    servers: list[uvicorn.Server] = field(default_factory=list)
    # the token of this run's education lead (set once Bedside has started; see outcomes.py)
    education_token: str | None = None

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: stop; a second one stops without waiting for connections."""
        if any(server.should_exit for server in self.servers):
            for server in self.servers:
                server.force_exit = True
        self.stop()


class _DemoServer(uvicorn.Server):
    """A server that leaves signals to the demo: uvicorn's own handling catches Ctrl-C for one
    server and raises it again once that server stops, which interrupted the other server's
    shutdown with a traceback. `serve_demo` stops both on SIGINT or SIGTERM instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def build_demo(
    *, port: int, ehr_port: int, data_dir: Path, client_auth: ClientAuth = "client_secret_basic"
) -> Demo:
    """Configure Bedside (embedded SQLite in data_dir) and the simulator on loopback ports."""
    public_url = f"http://{HOST}:{port}"
    ehr_url = f"http://{HOST}:{ehr_port}"
    settings = Settings(
        data_dir=data_dir,
        public_url=public_url,
        cookie_secure=False,
        frame_ancestors=[ehr_url],
        environment="development",
    )
    config = SimConfig(base_url=ehr_url, bedside_url=public_url, client_auth=client_auth)
    demo = Demo(
        settings=settings,
        config=config,
        bedside=create_app(settings, migrate=True),
        sim=create_sim_app(config),
    )
    for app, app_port in ((demo.bedside, port), (demo.sim, ehr_port)):
        server_config = uvicorn.Config(
            app,
            host=HOST,
            port=app_port,
            access_log=False,
            log_level="warning",
            server_header=False,
            lifespan="on",
        )
        demo.servers.append(_DemoServer(server_config))
    return demo


async def _stop_together(demo: Demo) -> None:
    """Stop both servers when either stops (say, one that failed)."""
    while not any(server.should_exit for server in demo.servers):
        await asyncio.sleep(0.2)
    demo.stop()


async def _register_when_started(demo: Demo) -> None:
    while not all(server.started for server in demo.servers):
        if any(server.should_exit for server in demo.servers):
            return
        await asyncio.sleep(0.05)
    runtime = demo.bedside.state.runtime
    await register_simulator(runtime, demo.config)
    demo.education_token = await seed_demo_outcomes(runtime.sessions, runtime.clock())
    message = (
        f"Bedside demo is running.\n"
        f"  Open the EHR simulator: {demo.config.base_url}/\n"
        f"  Bedside:                {demo.settings.public_url}/app/login\n"
        f"  Education dashboard:    {demo.settings.public_url}/education/ "
        f"(sign in with {demo.education_token}; a synthetic cohort of six learners is "
        f"included, since numbers about fewer than five learners are hidden)\n"
        f"Press Ctrl-C to stop."
    )
    print(message, flush=True)  # noqa: T201 - the command's output


async def serve_demo(demo: Demo) -> None:
    """Run both servers until Ctrl-C, SIGTERM or `demo.stop()` (signals: in the main thread)."""
    loop = asyncio.get_running_loop()
    main = threading.current_thread() is threading.main_thread()
    signals = (signal.SIGINT, signal.SIGTERM) if main else ()
    for signum in signals:
        loop.add_signal_handler(signum, demo.interrupt)
    try:
        await _serve_both(demo)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def _serve_both(demo: Demo) -> None:
    tasks = [asyncio.create_task(server.serve()) for server in demo.servers]
    helpers = [
        asyncio.create_task(_stop_together(demo)),
        asyncio.create_task(_register_when_started(demo)),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        demo.stop()
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await demo.sim.state.http.aclose()
