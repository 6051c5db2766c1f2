"""Routes (placeholder until the owning package lands)."""

from fastapi import APIRouter

router = APIRouter()
