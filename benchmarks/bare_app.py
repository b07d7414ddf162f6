"""The anchor for the ingress benchmark: a bare FastAPI endpoint that returns 200."""

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/slack/events")
async def events(request: Request) -> dict[str, bool]:
    await request.body()
    return {"ok": True}
