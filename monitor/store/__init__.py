"""Storage: the database (the only SQL), its migrations, the review and takedown query mixins, keys and fingerprints."""

from .common import utcnow
from .database import DEFAULT_DB, Database, DatabaseError, StoredPost, content_hash, default_db_path, post_key

__all__ = ["DEFAULT_DB", "Database", "DatabaseError", "StoredPost", "content_hash", "default_db_path", "post_key", "utcnow"]
