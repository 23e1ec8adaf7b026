"""Build a Graphiti knowledge graph through litellm-claude from your own files, then search it.

`--input DIR` ingests every .txt/.md file under DIR (split into paragraph-sized episodes);
`--input FILE.jsonl` one episode per line (`{"content": ..., "name"?, "reference_time"?,
"source_description"?}`); without `--input`, a dozen built-in sample sentences. Episodes go
in with `add_episode_bulk`, `--chunk` at a time, under a progress bar; at the end the graph
is searched (`--query`, default: a question built from the first episode) and the facts found
are printed.

Graphiti's LLM calls go to our OpenAI-compatible endpoint, through Graphiti's own clients:

- `--client generic` (default): `OpenAIGenericClient`, chat completions with a
  `response_format` of type `json_schema`;
- `--client openai`: the default `OpenAIClient`, Responses API (`responses.parse`).

Claude has no embeddings, so the embedder is either any OpenAI-compatible embeddings
endpoint (`--embeddings-url`, `--embeddings-model`, `--embeddings-key`) or, by default,
a deterministic local hash embedder (no network, no model; fine for trying things out,
useless for semantic search quality). The graph database is Kuzu (embedded, no server)
in a temporary directory unless `--db` is given. Graphiti's telemetry is switched off.

    litellm-claude serve &                       # or the docker compose stack
    python examples/graphiti_ingest.py --base-url http://127.0.0.1:8080/v1 \\
        --api-key "$LITELLM_CLAUDE_API_KEY" --input ~/notes --query "Who works with Alice?"

It prints the wall time, the number of LLM calls (HTTP requests to our endpoint, each
retry counted) and the entity nodes and edges in the graph. Needs `graphiti-core[kuzu]`.
See docs/graphiti.md.
"""

from __future__ import annotations

import os

# Before graphiti_core is imported: it reads these at import time.
os.environ.setdefault("GRAPHITI_TELEMETRY_ENABLED", "false")

import argparse
import asyncio
import hashlib
import json
import math
import re
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from graphiti_core import Graphiti
from graphiti_core.cross_encoder.client import CrossEncoderClient
from graphiti_core.driver.kuzu_driver import KuzuDriver
from graphiti_core.embedder.client import EmbedderClient
from graphiti_core.embedder.openai import OpenAIEmbedder, OpenAIEmbedderConfig
from graphiti_core.llm_client.client import LLMClient
from graphiti_core.llm_client.config import LLMConfig
from graphiti_core.llm_client.openai_client import OpenAIClient
from graphiti_core.llm_client.openai_generic_client import OpenAIGenericClient
from graphiti_core.nodes import EpisodeType
from graphiti_core.utils.bulk_utils import RawEpisode
from openai import AsyncOpenAI
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

EPISODES = [
    "Alice Moreau joined Northwind Labs in Lyon as head of research in March 2024.",
    "Northwind Labs builds battery recycling machines for the Tidewater Energy cooperative.",
    "Bob Okafor, a chemist, reports to Alice Moreau and works on the lithium recovery project.",
    "The lithium recovery project received a grant from the European Innovation Council.",
    "Alice Moreau presented the project at the Geneva Clean Tech Summit in June 2024.",
    "Tidewater Energy is headquartered in Rotterdam and runs three recycling plants.",
    "Carmen Ruiz leads operations at the Rotterdam plant and trained on the Northwind machine.",
    "Bob Okafor and Carmen Ruiz co-wrote a report on cobalt yields at the Rotterdam plant.",
    "Northwind Labs opened a second office in Porto led by Diego Santos.",
    "Diego Santos previously worked at Tidewater Energy as a process engineer.",
    "The European Innovation Council asked Alice Moreau for a progress review in 2025.",
    "Carmen Ruiz plans to visit the Porto office to review the new sorting line.",
]


def sample_episodes(count: int, start: datetime | None = None) -> list[RawEpisode]:
    """`count` short text episodes (the built-in ones, repeated with a suffix if more are asked)."""
    start = start or datetime(2024, 3, 1, tzinfo=UTC)
    episodes = []
    for i in range(count):
        text = EPISODES[i % len(EPISODES)]
        if i >= len(EPISODES):
            text = f"{text} (update {i // len(EPISODES)})"
        episodes.append(
            RawEpisode(
                name=f"episode-{i:03d}",
                content=text,
                source_description="example notes",
                source=EpisodeType.text,
                reference_time=start + timedelta(days=i),
            )
        )
    return episodes


TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst")


def split_paragraphs(text: str, max_chars: int) -> list[str]:
    """Blank-line paragraphs joined up to `max_chars` each (a longer paragraph stays whole)."""
    parts: list[str] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        if parts and len(parts[-1]) + len(paragraph) + 2 <= max_chars:
            parts[-1] += "\n\n" + paragraph
        else:
            parts.append(paragraph)
    return parts


def load_episodes(path: Path, *, max_chars: int = 2000) -> list[RawEpisode]:
    """Episodes from a directory of text/markdown files or from a JSONL file."""
    if path.is_dir():
        episodes = []
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
        for file in files:
            when = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
            name = str(file.relative_to(path))
            for index, part in enumerate(split_paragraphs(file.read_text(errors="replace"), max_chars)):
                episodes.append(
                    RawEpisode(
                        name=f"{name}#{index + 1}",
                        content=part,
                        source_description=f"file {name}",
                        source=EpisodeType.text,
                        reference_time=when,
                    )
                )
        return episodes
    episodes = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        content = row.get("content") or row.get("text")
        if not isinstance(content, str) or not content.strip():
            raise ValueError(f"{path}:{number}: each line needs a non-empty `content` (or `text`)")
        when = row.get("reference_time")
        episodes.append(
            RawEpisode(
                name=str(row.get("name") or f"{path.stem}-{number}"),
                content=content,
                source_description=str(row.get("source_description") or f"file {path.name}"),
                source=EpisodeType.text,
                reference_time=datetime.fromisoformat(when) if when else datetime.now(UTC),
            )
        )
    return episodes


def default_query(episodes: list[RawEpisode]) -> str:
    """A question about the first capitalised names of the first episode."""
    names = re.findall(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*", episodes[0].content) if episodes else []
    return f"What is known about {names[0]}?" if names else "What are the main facts?"


class HashEmbedder(EmbedderClient):
    """Deterministic bag-of-words embeddings: each word (and its trigrams) hashed into `dim` buckets.

    Texts sharing words get similar vectors, so Graphiti's similarity-based candidate search
    still finds overlapping names; no model, no network.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            grams = [word] + [word[i : i + 3] for i in range(max(0, len(word) - 2))]
            for gram in grams:
                digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "big") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                vec[bucket] += sign * (2.0 if gram == word else 0.5)
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    async def create(
        self, input_data: str | list[str] | Iterable[int] | Iterable[Iterable[int]]
    ) -> list[float]:
        if isinstance(input_data, str):
            return self.vector(input_data)
        items = list(input_data)
        return self.vector(" ".join(str(i) for i in items))

    async def create_batch(self, input_data_list: list[str]) -> list[list[float]]:
        return [self.vector(text) for text in input_data_list]


class OverlapReranker(CrossEncoderClient):
    """A local cross-encoder: ranks passages by the share of query words they contain.

    Graphiti's default reranker (`OpenAIRerankerClient`) needs `logprobs`, which Claude
    does not give; ingestion does not rerank, search does.
    """

    async def rank(self, query: str, passages: list[str]) -> list[tuple[str, float]]:
        words = set(re.findall(r"\w+", query.lower()))
        scored = []
        for passage in passages:
            found = set(re.findall(r"\w+", passage.lower()))
            scored.append((passage, len(words & found) / (len(words) or 1)))
        return sorted(scored, key=lambda item: item[1], reverse=True)


@dataclass
class CallLog:
    """Every HTTP request Graphiti's OpenAI client makes to the LLM endpoint (retries included)."""

    record_bodies: bool = False
    calls: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def on_request(self, request: httpx.Request) -> None:
        self.calls += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        if self.record_bodies:
            try:
                body = json.loads(request.content or b"{}")
            except ValueError:
                body = {"_raw": request.content.decode(errors="replace")}
            request.extensions["call_index"] = len(self.bodies)
            self.bodies.append(
                {"t": time.time(), "method": request.method, "path": request.url.path, "body": body}
            )

    async def on_response(self, response: httpx.Response) -> None:
        self.in_flight -= 1
        self.statuses[response.status_code] += 1
        index = response.request.extensions.get("call_index")
        if index is not None:
            self.bodies[index].update(status=response.status_code, done=time.time())
        if response.status_code >= 400:
            await response.aread()
            self.failures.append(f"{response.request.url.path} {response.status_code}: {response.text[:500]}")

    def http_client(self, timeout_s: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=timeout_s, event_hooks={"request": [self.on_request], "response": [self.on_response]}
        )


def make_llm_client(
    kind: str, config: LLMConfig, calls: CallLog, *, timeout_s: float = 600, max_retries: int = 2
) -> LLMClient:
    """Graphiti's own OpenAI client of `kind` ("generic" or "openai"), its HTTP traffic counted."""
    openai = AsyncOpenAI(
        api_key=config.api_key,
        base_url=config.base_url,
        http_client=calls.http_client(timeout_s),
        max_retries=max_retries,
        # bulk work: queued behind interactive requests (or use a key listed in BULK_API_KEYS)
        default_headers={"X-Job-Priority": "bulk"},
    )
    if kind == "generic":
        return OpenAIGenericClient(config=config, client=openai)
    if kind == "openai":
        return OpenAIClient(config=config, client=openai)
    raise ValueError(f"unknown client kind {kind!r}")


def make_embedder(
    url: str | None, *, model: str = "text-embedding-3-small", api_key: str | None = None, dim: int = 256
) -> EmbedderClient:
    if not url:
        return HashEmbedder(dim)
    config = OpenAIEmbedderConfig(
        embedding_model=model, api_key=api_key or "unused", base_url=url, embedding_dim=dim
    )
    return OpenAIEmbedder(config=config)


async def count_graph(driver: KuzuDriver) -> dict[str, int]:
    """Entity nodes, entity edges (facts) and episodes in the Kuzu graph."""
    queries = {
        "entities": "MATCH (n:Entity) RETURN count(n) AS c",
        # Kuzu holds an entity edge as (Entity)-[:RELATES_TO]->(RelatesToNode_)-[:RELATES_TO]->(Entity)
        "edges": "MATCH (:Entity)-[:RELATES_TO]->(e:RelatesToNode_)-[:RELATES_TO]->(:Entity) "
        "RETURN count(e) AS c",
        "episodes": "MATCH (n:Episodic) RETURN count(n) AS c",
        "mentions": "MATCH (:Episodic)-[r:MENTIONS]->(:Entity) RETURN count(r) AS c",
    }
    counts = {}
    for name, query in queries.items():
        rows, _, _ = await driver.execute_query(query)
        counts[name] = int(rows[0]["c"]) if rows else 0  # type: ignore[index,call-overload]
    return counts


@dataclass
class IngestReport:
    wall_s: float
    llm_calls: int
    peak_in_flight: int
    statuses: dict[int, int]
    failures: list[str]
    counts: dict[str, int]
    nodes_returned: int
    edges_returned: int
    query: str | None = None
    facts: list[str] = field(default_factory=list)


async def ingest(
    *,
    base_url: str,
    api_key: str,
    model: str,
    small_model: str,
    client_kind: str = "generic",
    episodes: list[RawEpisode],
    db_path: str,
    embedder: EmbedderClient | None = None,
    max_coroutines: int | None = None,
    calls: CallLog | None = None,
    chunk: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    query: str | None = None,
) -> IngestReport:
    """Ingest `episodes` with `add_episode_bulk` into a Kuzu database at `db_path`.

    `chunk` episodes per `add_episode_bulk` call (default: all in one), `on_progress` told how
    many are in after each; then `query` (if any) is searched and the facts found returned.

    No `group_id` is passed: with Kuzu, graphiti-core 0.31.2 fails on any explicit one
    (`KuzuDriver` has no `_database`), so the provider's default group is used.
    """
    calls = calls or CallLog()
    config = LLMConfig(api_key=api_key, base_url=base_url, model=model, small_model=small_model)
    driver = KuzuDriver(db=db_path)
    graphiti = Graphiti(
        graph_driver=driver,
        llm_client=make_llm_client(client_kind, config, calls),
        embedder=embedder or HashEmbedder(),
        cross_encoder=OverlapReranker(),
        max_coroutines=max_coroutines,
    )
    try:
        await graphiti.build_indices_and_constraints()
        # graphiti-core 0.31.2: KuzuDriver.build_indices_and_constraints is a no-op, so the
        # full-text indices its searches query are never made; its graph_ops make them.
        await driver.graph_ops.build_indices_and_constraints(driver)
        start = time.monotonic()
        step = chunk or len(episodes) or 1
        nodes = edges = 0
        for first in range(0, len(episodes), step):
            result = await graphiti.add_episode_bulk(episodes[first : first + step])
            nodes, edges = nodes + len(result.nodes), edges + len(result.edges)
            if on_progress is not None:
                on_progress(min(first + step, len(episodes)))
        wall = time.monotonic() - start
        counts = await count_graph(driver)
        facts = [edge.fact for edge in await graphiti.search(query, num_results=5)] if query else []
    finally:
        await graphiti.close()
    return IngestReport(
        wall_s=wall,
        llm_calls=calls.calls,
        peak_in_flight=calls.peak_in_flight,
        statuses=dict(calls.statuses),
        failures=list(calls.failures),
        counts=counts,
        nodes_returned=nodes,
        edges_returned=edges,
        query=query,
        facts=facts,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"))
    parser.add_argument(
        "--api-key", default=os.environ.get("LITELLM_CLAUDE_API_KEY") or os.environ.get("OPENAI_API_KEY")
    )
    parser.add_argument("--model", default="sonnet", help="LLMConfig.model (default sonnet)")
    parser.add_argument("--small-model", default="haiku", help="LLMConfig.small_model (default haiku)")
    parser.add_argument(
        "--client",
        choices=["generic", "openai"],
        default="generic",
        help="generic: OpenAIGenericClient (chat completions + json_schema); "
        "openai: OpenAIClient (Responses API, responses.parse)",
    )
    parser.add_argument(
        "--input",
        type=Path,
        help="a directory of .txt/.md files, or a JSONL file (default: built-in samples)",
    )
    parser.add_argument("--episodes", type=int, default=10, help="how many built-in samples (default 10)")
    parser.add_argument("--chunk", type=int, default=5, help="episodes per add_episode_bulk call (default 5)")
    parser.add_argument("--max-chars", type=int, default=2000, help="longest episode cut from a file")
    parser.add_argument(
        "--query", help="search the graph for this at the end (default: from the first episode)"
    )
    parser.add_argument("--db", help="Kuzu database path (default: a temporary directory, removed after)")
    parser.add_argument(
        "--embeddings-url", help="an OpenAI-compatible embeddings base URL (default: local hash)"
    )
    parser.add_argument("--embeddings-model", default="text-embedding-3-small")
    parser.add_argument("--embeddings-key", default=os.environ.get("EMBEDDINGS_API_KEY"))
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument(
        "--max-coroutines",
        type=int,
        help="Graphiti's per-gather concurrency (default: SEMAPHORE_LIMIT or 20)",
    )
    parser.add_argument("--dump-requests", help="write every request body Graphiti sent to this JSONL file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="The Kuzu backend is deprecated", category=DeprecationWarning)
    if not args.api_key:
        parser.error("--api-key (or LITELLM_CLAUDE_API_KEY / OPENAI_API_KEY) is required")

    calls = CallLog(record_bodies=bool(args.dump_requests))
    embedder = make_embedder(
        args.embeddings_url, model=args.embeddings_model, api_key=args.embeddings_key, dim=args.embedding_dim
    )
    episodes = (
        load_episodes(args.input, max_chars=args.max_chars) if args.input else sample_episodes(args.episodes)
    )
    if not episodes:
        parser.error(f"no episodes found in {args.input} (.txt/.md files, or JSONL lines)")
    query = args.query or default_query(episodes)
    columns = (
        TextColumn("episodes"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[calls]} LLM calls"),
    )
    with (
        tempfile.TemporaryDirectory(prefix="graphiti-kuzu-") as tmp,
        Progress(*columns, transient=False) as progress,
    ):
        task = progress.add_task("ingest", total=len(episodes), calls=0)
        db_path = args.db or str(Path(tmp) / "graph.kuzu")
        try:
            report = asyncio.run(
                ingest(
                    base_url=args.base_url,
                    api_key=args.api_key,
                    model=args.model,
                    small_model=args.small_model,
                    client_kind=args.client,
                    episodes=episodes,
                    db_path=db_path,
                    embedder=embedder,
                    max_coroutines=args.max_coroutines,
                    calls=calls,
                    chunk=args.chunk,
                    on_progress=lambda done: progress.update(task, completed=done, calls=calls.calls),
                    query=query,
                )
            )
        finally:
            if args.dump_requests:
                with open(args.dump_requests, "w") as out:
                    for entry in calls.bodies:
                        out.write(json.dumps(entry) + "\n")
            if calls.failures:
                print(f"{len(calls.failures)} failed LLM request(s):", file=sys.stderr)
                for failure in calls.failures[:10]:
                    print(f"  {failure}", file=sys.stderr)
    print(f"client:          {args.client}")
    print(f"episodes:        {len(episodes)}" + (f" from {args.input}" if args.input else " (samples)"))
    print(f"wall time:       {report.wall_s:.1f} s")
    print(f"LLM calls:       {report.llm_calls} (peak {report.peak_in_flight} in flight)")
    print(f"HTTP statuses:   {report.statuses}")
    print(f"graph:           {report.counts}")
    print(f"search:          {query!r}: {len(report.facts)} fact(s)")
    for fact in report.facts:
        print(f"  - {fact}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
