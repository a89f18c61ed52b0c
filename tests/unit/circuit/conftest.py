"""Breaker test plumbing: the harness fixture, and async tests run on a fresh loop."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from circuit_fakes import make_harness


@pytest.fixture
def harness_factory():
    return make_harness


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests here on a fresh event loop (the project has no asyncio plugin)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True
