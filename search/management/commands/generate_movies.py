"""`manage.py generate_movies --count N --seed S [--output FILE]`: synthetic movies."""

import json
import sys
import time

import redis
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search import importer, indexing, records, store
from search.synthetic import MovieFactory


class Command(BaseCommand):
    help = "Write realistic synthetic movies into Redis, or to a JSONL file with --output."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--start-id", type=int, default=1_000_001,
                            help="first id (the bundled catalogue uses 1-36106)")  # fmt: skip
        parser.add_argument("--output", help="write JSONL here instead of into Redis")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, count, seed, start_id, output=None, batch_size=1000, **options):
        if count < 1:
            raise CommandError("--count must be at least 1")
        factory = MovieFactory(seed=seed, start_id=start_id)
        bar = tqdm(total=count, unit=" movies", file=sys.stderr,
                   disable=not sys.stderr.isatty())  # fmt: skip
        started = time.perf_counter()
        try:
            if output:
                self.write_file(factory, count, output, bar)
            else:
                self.write_redis(factory, count, batch_size, bar)
        except redis.RedisError as exc:
            raise CommandError(f"Redis: {exc}") from exc
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        where = output or "Redis"
        self.stdout.write(
            f"wrote {count} movies to {where} in {seconds:.1f} s ({count / seconds:,.0f}/s)"
        )

    def write_file(self, factory, count, output, bar):
        with open(output, "w", encoding="utf-8") as out:
            for movie in factory.movies(count):
                out.write(json.dumps(movie, ensure_ascii=False) + "\n")
                bar.update(1)

    def write_redis(self, factory, count, batch_size, bar):
        indexing.ensure_indexes()
        writer = importer.MovieWriter(batch_size=batch_size)
        for movie in factory.movies(count):
            writer.add(records.validate(movie))
            bar.update(1)
        writer.flush()
        store.bump_generation()
