// The experiment store's schema: the current version's tables and the forward
// migrations from every older version (PRAGMA user_version holds the version).
// Old schemas are kept as fixtures in tests/data/store/schema_v<N>.sql.
#pragma once
#include "engine/core/status.h"
#include "engine/store/sqlite_db.h"

namespace lw::store {

constexpr int kSchemaVersion = 3;

// Creates every table of the current version in an empty database. Runs
// inside the caller's write transaction; sets user_version.
Status create_schema(Db& db);

// Migrates from `from_version` (1 .. kSchemaVersion-1) to the current version,
// step by step, inside the caller's write transaction; sets user_version.
Status migrate_schema(Db& db, int from_version);

}  // namespace lw::store
