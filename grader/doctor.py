"""`grader doctor`: start a real sandbox and say which isolation layers this machine (or each worker) gives."""

from __future__ import annotations

from pydantic import BaseModel


class SandboxCheck(BaseModel):
    """One machine's answer: the layers that held, and what grading would lack there."""

    where: str
    layers: dict[str, bool]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing


class DoctorReport(BaseModel):
    machines: list[SandboxCheck]

    @property
    def ok(self) -> bool:
        """False when grading would need --allow-unisolated somewhere."""
        return all(machine.ok for machine in self.machines)


def sandbox_report() -> dict[str, bool]:
    """Start a real sandbox on this machine and read back the layers that held."""
    from grader.sandbox.host.warm_worker import WarmWorkerHost

    with WarmWorkerHost(warm_optimizer=False, batch_warmups=False) as server:  # no batch follows: no warm-ups
        server.start()
        return dict(server.reported_layers)


def doctor(cluster: str | None = None) -> DoctorReport:
    """This machine's sandbox, or (``cluster``: a Dask address or local:N) every worker's."""
    from grader.sandbox.layers import missing_isolation

    if cluster:
        from grader.executors.cluster import sandbox_reports

        reports = sorted(sandbox_reports(cluster).items())
    else:
        reports = [("this machine", sandbox_report())]
    return DoctorReport(machines=[SandboxCheck(where=where, layers=layers, missing=missing_isolation(layers))
                                  for where, layers in reports])
