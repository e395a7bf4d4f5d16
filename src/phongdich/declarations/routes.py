"""Declarations API: declaring needs no login; reading them back is for officials."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from phongdich.declarations import service
from phongdich.declarations.schemas import DeclarationInput, DeclarationPublic, DeclarationReceipt
from phongdich.deps import ActorDep, SessionDep

router = APIRouter(prefix="/api", tags=["declarations"])


@router.post(
    "/declarations", response_model=DeclarationReceipt, status_code=status.HTTP_201_CREATED
)
def declare(body: DeclarationInput, session: SessionDep) -> DeclarationReceipt:
    """A citizen's health declaration, identified by document number and phone (no login).

    A known document with another phone is refused with the same message whatever the reason,
    so the answer tells nothing about the holder.
    """
    declared = service.declare(session=session, data=body)
    return DeclarationReceipt(
        version=declared.declaration.version, submitted_at=declared.declaration.submitted_at
    )


@router.get("/persons/{person_id}/declarations", response_model=list[DeclarationPublic])
def person_declarations(
    person_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeclarationPublic]:
    return [
        DeclarationPublic.model_validate(d)
        for d in service.person_declarations(
            session=session, actor=actor, person_id=person_id, limit=limit
        )
    ]
