"""`manage.py create_index [--reindex]`: the movie index, suggestions index and synonyms."""

import redis
from django.core.management.base import BaseCommand, CommandError

from search import indexing, keys


class Command(BaseCommand):
    help = "Create movies_index (an alias of a versioned index), movies_suggestions and synonyms."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="build the next index version beside the live one, then switch the alias",
        )

    def handle(self, *args, reindex=False, **options):
        self.verbosity = options.get("verbosity", 1)
        try:
            if reindex:
                report = indexing.reindex(on_progress=self.progress)
            else:
                report = indexing.ensure_indexes()
        except redis.RedisError as exc:
            raise CommandError(f"Redis: {exc}") from exc
        alias = keys.index_alias()
        if report.derived_refreshed:
            self.stdout.write(
                f"Filled in the derived fields of {report.derived_refreshed} movies "
                "imported before they existed."
            )
        if report.legacy_suggestions_removed:
            self.stdout.write(
                f"Moved {report.legacy_suggestions_removed} suggestion hashes of an older "
                "release into their movie hashes."
            )
        if report.reindexed_from:
            self.stdout.write(
                f"Reindexed: {alias} now points at {report.live} ({report.num_docs} documents); "
                f"dropped {report.reindexed_from}, documents kept."
            )
        elif report.created:
            self.stdout.write(f"Created {report.live} with alias {alias}.")
        else:
            self.stdout.write(f"{alias} -> {report.live} already exists ({report.num_docs} docs).")
        if report.suggestions_created:
            self.stdout.write(f"Created {keys.SUGGESTIONS_INDEX}.")
        if report.outdated:
            self.stdout.write(
                f"{', '.join(report.outdated)}: created by an older release with another "
                "schema; run `manage.py create_index --reindex` to rebuild without downtime."
            )

    def progress(self, percent, num_docs):
        if self.verbosity > 1:
            self.stdout.write(f"  indexing {percent:.0%} ({num_docs} documents)")
