"""`manage.py import_movies PATH [--dry-run]`: validate and upsert movies."""

import sys

import redis
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search import importer, indexing
from search.facets import filter_options


class Command(BaseCommand):
    help = "Import movies from JSON Lines, a JSON array or CSV (optionally .gz)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="validate only")
        parser.add_argument("--batch-size", type=int, default=importer.BATCH_SIZE)
        parser.add_argument("--max-errors-shown", type=int, default=50)

    def handle(self, *args, path, dry_run=False, batch_size=500, max_errors_shown=50, **opts):
        bar = tqdm(
            desc="validating" if dry_run else "importing",
            unit=" movies",
            file=sys.stderr,
            disable=opts.get("verbosity", 1) == 0 or not sys.stderr.isatty(),
        )

        def progress(read):
            bar.update(read - bar.n)

        try:
            if not dry_run:
                indexing.ensure_indexes()
            summary = importer.import_file(
                path, dry_run=dry_run, progress=progress, batch_size=batch_size
            )
        except importer.ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except redis.RedisError as exc:
            raise CommandError(f"Redis: {exc}") from exc
        finally:
            bar.close()
        self.report(summary, max_errors_shown)
        if summary.imported or summary.updated:
            # The new generation's whole-catalogue counts take seconds on a large
            # catalogue: computed now, not by the first visitors.
            try:
                filter_options()
            except redis.RedisError as exc:
                self.stderr.write(f"warning: the filter counts were not computed ahead: {exc}")

    def report(self, summary, max_errors_shown):
        for rejection in summary.rejected[:max_errors_shown]:
            self.stderr.write(f"rejected {rejection}")
        if len(summary.rejected) > max_errors_shown:
            self.stderr.write(f"… and {len(summary.rejected) - max_errors_shown} more rejected")
        if summary.dry_run:
            valid = summary.read - len(summary.rejected)
            self.stdout.write(
                f"read {summary.read}, valid {valid}, rejected {len(summary.rejected)} "
                f"(dry run: nothing written), {summary.seconds:.1f} s"
            )
            return
        for warning in summary.warnings:
            self.stderr.write(f"warning: {warning}")
        for movie_id, reason in summary.refused[:max_errors_shown]:
            self.stderr.write(f"refused by Redis: movie {movie_id}: {reason}")
        refused = f", refused by Redis {len(summary.refused)}" if summary.refused else ""
        self.stdout.write(
            f"read {summary.read}, imported {summary.imported}, updated {summary.updated}, "
            f"rejected {len(summary.rejected)}{refused}, {summary.seconds:.1f} s, "
            f"{summary.rate:,.0f} movies/s"
        )
        if summary.refused:
            raise CommandError(
                f"Redis refused {len(summary.refused)} valid movie(s) ({summary.refused[0][1]}); "
                "they are not imported: free memory or raise maxmemory, then import again"
            )
        if len(summary.rejected) == summary.read:
            raise CommandError(f"none of the {summary.read} records is valid; nothing imported")
