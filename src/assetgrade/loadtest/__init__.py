"""Service load runs: a real uvicorn server, concurrent reviewers and stations, and a nothing-lost check."""

from assetgrade.loadtest.load import Accepted, LoadConfig, LoadRun, run_load, seed_load, summarise
from assetgrade.loadtest.server import ServiceProcess, free_port
from assetgrade.loadtest.verify import verify_accepted

__all__ = ["Accepted", "LoadConfig", "LoadRun", "ServiceProcess", "free_port", "run_load", "seed_load",
           "summarise", "verify_accepted"]
