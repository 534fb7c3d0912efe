"""The ports the tests and ``make run``'s helpers pick for servers are not ones the kernel gives outgoing connections."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devtools import processes
from devtools.processes import free_port


def test_a_free_port_lies_below_the_kernels_ephemeral_range_and_can_be_bound() -> None:
    # make test beside other runs: a port the kernel picked (bind 0) was as often taken meanwhile by some process's
    # outgoing connection, and a service failed to start on it ("address already in use").
    top = processes._ephemeral_start()  # noqa: SLF001
    ports = {free_port() for _ in range(20)}
    assert all(top - processes.PORTS_BELOW_EPHEMERAL <= port < top for port in ports) and len(ports) > 1
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", ports.pop()))
        listener.listen()


def test_without_the_kernels_range_the_ports_lie_below_its_usual_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(processes, "EPHEMERAL_RANGE_FILE", tmp_path / "no-such-file")
    assert all(32768 - processes.PORTS_BELOW_EPHEMERAL <= free_port() < 32768 for _ in range(10))


def test_a_port_to_avoid_is_never_given_even_when_picked_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # A nats-server's monitoring port was picked once as its client port (picked a moment before, not yet bound): the
    # server failed to start, "address already in use" (make test, session 44).
    taken = free_port()
    picks = iter([taken, taken, taken + 1 if taken + 1 != processes._ephemeral_start() else taken - 1])  # noqa: SLF001
    monkeypatch.setattr(processes.random, "randrange", lambda *_: next(picks))
    assert free_port(avoid={taken}) != taken
    # every pick avoided: the kernel's pick, never one avoided either
    monkeypatch.setattr(processes.random, "randrange", lambda *_: taken)
    assert free_port(avoid={taken}) != taken


@pytest.mark.parametrize("slice_", ["0/3", "1/3", "2/3"])
def test_processes_given_different_slices_pick_ports_apart(monkeypatch: pytest.MonkeyPatch, slice_: str) -> None:
    # The suite's workers each launched a system: one took a port the other's launcher had released a moment before to
    # start again on it, and that launch failed, "the port of reporting is taken" (CI after session 63).
    top = processes._ephemeral_start()  # noqa: SLF001
    bottom = top - processes.PORTS_BELOW_EPHEMERAL
    width = processes.PORTS_BELOW_EPHEMERAL // 3
    k = int(slice_[0])
    monkeypatch.setenv(processes.PORT_SLICE_VARIABLE, slice_)
    assert all(bottom + k * width <= free_port() < bottom + (k + 1) * width for _ in range(30))


@pytest.mark.parametrize("value", ["", "3/3", "-1/2", "x/2", "1/0"])
def test_a_slice_unset_or_malformed_picks_from_the_whole_range(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    top = processes._ephemeral_start()  # noqa: SLF001
    monkeypatch.setenv(processes.PORT_SLICE_VARIABLE, value)
    ports = [free_port() for _ in range(40)]
    assert all(top - processes.PORTS_BELOW_EPHEMERAL <= port < top for port in ports)
    assert max(ports) - min(ports) > processes.PORTS_BELOW_EPHEMERAL // 2  # not held to one slice


def test_the_suites_workers_are_given_their_own_slices() -> None:
    slices = {processes.port_slice_of_worker(f"gw{n}", 3) for n in range(3)}
    assert slices == {"0/3", "1/3", "2/3"}
