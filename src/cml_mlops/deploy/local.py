"""The `local` target: a model server on this machine (127.0.0.1 by default), switched without downtime.

A deploy starts the new version on a private port, health-checks it and scores a record built from the
contract (the smoke test); only then does the new server take over the public listener from the running one
(same socket, same accept queue) and the old one drains and stops. When any of that fails the new server is
stopped, the old one keeps serving, and DeployError says which step failed and where the log is.
"""

from __future__ import annotations

from cml_mlops.deploy.base import DeployError, Deployment, DeploymentStatus, DeploymentTarget
from cml_mlops.reports import ReportWriteError
from cml_mlops.serving.process import (
    ServerRecord,
    ServingError,
    StartedServer,
    clear_record,
    health,
    is_server_process,
    live_record,
    read_record,
    require_access_key,
    state_lock,
    stop_process,
    write_record,
)


class LocalTarget(DeploymentTarget):
    name = "local"

    def preflight(self) -> None:
        try:
            require_access_key(self.config)
        except ServingError as exc:
            raise DeployError(str(exc)) from None

    def deploy(self, version: str) -> Deployment:
        config = self.config
        self.preflight()
        from cml_mlops.deploy.smoke import smoke_record  # the registry and the contract: only a deploy needs them

        record_to_score = smoke_record(self.config, version)
        host, port = config.serving.host, config.serving.port
        with state_lock(config):
            current, _ = live_record(config)
            same_address = current is not None and (current.host, current.port) == (host, port)
            takeover = current.handoff if current is not None and same_address else None
            new = StartedServer(config, version)
            step = "health check"
            try:
                health_answer = new.wait_healthy()
                step = "smoke test"
                new.smoke_test(record_to_score)
                step = f"switch to {host}:{port}"
                live = new.go_live(host, port, takeover)
                record = new.record(host, port, live.get("handoff"), str(health_answer.get("model_name", "")))
                write_record(config, record)
            except BaseException as exc:
                # Stopping the new server is safe even after the switch: the old one still holds the listener.
                new.stop()
                if not isinstance(exc, (ServingError, ReportWriteError)):
                    raise
                kept = f"version {current.version} keeps serving at {current.url}" if current else "nothing is served"
                raise DeployError(
                    f"version {version} failed its {step}, so it was stopped and {kept}: {exc} (log: {new.log_file})"
                ) from None
            new.close()
            if current is not None:
                stop_process(current.pid)  # it drains: in-flight requests finish, clients reconnect to us
        return _deployment(record)

    def undeploy(self) -> Deployment | None:
        with state_lock(self.config):
            current, _ = live_record(self.config)  # a stale record is removed (and logged) here
            if current is None:
                return None
            stop_process(current.pid)
            clear_record(self.config)
        return _deployment(current)

    def status(self) -> DeploymentStatus:
        record = read_record(self.config)
        if record is None:
            return DeploymentStatus(self.name, None, False, "nothing is deployed")
        deployment = _deployment(record)
        if not is_server_process(record.pid):
            return DeploymentStatus(
                self.name, deployment, False,
                f"stale state: the server of version {record.version} (pid {record.pid}) is gone; "
                "`cml-mlops undeploy` clears it, `cml-mlops deploy` starts a new one",
            )  # fmt: skip
        answer = health(record.url)
        if answer is None or str(answer.get("model_version")) != record.version:
            return DeploymentStatus(
                self.name, deployment, False,
                f"pid {record.pid} runs but {record.url}/health does not answer for version {record.version}; "
                f"see {record.log_file}",
            )  # fmt: skip
        return DeploymentStatus(
            self.name, deployment, True,
            f"serving {record.model_name} version {record.version} at {record.url} (pid {record.pid}, "
            f"since {record.started_at})",
        )  # fmt: skip


def _deployment(record: ServerRecord) -> Deployment:
    return Deployment(
        target=LocalTarget.name,
        model_name=record.model_name,
        version=record.version,
        endpoint=record.url,
        details={"pid": record.pid, "started_at": record.started_at, "log_file": record.log_file},
    )
