"""Care: problems and their recovery, promises, continuity and relationship programs."""
