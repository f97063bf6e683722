"""What a judge worker and its coordinator say to each other (trusted processes on both ends)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter


class Ready(BaseModel):
    """The worker takes its next unit (the one already waiting in its pipe, or the next one sent)."""

    kind: Literal["ready"] = "ready"


class Judged(BaseModel):
    kind: Literal["judged"] = "judged"
    verdict_json: str


class Failed(BaseModel):
    """The worker cannot judge at all (its sandbox is refused, the checks are broken): stop the batch."""

    kind: Literal["failed"] = "failed"
    message: str


class Crashed(BaseModel):
    """The worker process died while it held a unit (seen by the coordinator, never sent)."""

    kind: Literal["crashed"] = "crashed"
    exitcode: int | None = None


WorkerMessage = Annotated[Union[Ready, Judged, Failed, Crashed], Field(discriminator="kind")]
WORKER_MESSAGE = TypeAdapter(WorkerMessage)


def encode(message: BaseModel) -> str:
    return message.model_dump_json()


def decode(data: str) -> Ready | Judged | Failed | Crashed:
    return WORKER_MESSAGE.validate_json(data)
