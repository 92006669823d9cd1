# Generates a C file embedding migrations/NNNN_name.sql, in order, so that
# the eimd binary carries its schema (no path to find at run time).
# Invoked with -DMIGRATIONS_DIR=... -DOUTPUT=...
file(GLOB files RELATIVE "${MIGRATIONS_DIR}" "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "")
set(table "")
set(count 0)
foreach(f IN LISTS files)
  if(NOT f MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.sql$")
    message(FATAL_ERROR "migration file name '${f}' is not NNNN_lowercase_name.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  string(REGEX REPLACE "\\.sql$" "" name "${f}")
  file(READ "${MIGRATIONS_DIR}/${f}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const char sql_${count}[] = {${bytes}0};\n")
  string(APPEND table "    {${version}, \"${name}\", sql_${count}},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "/* Generated from migrations/ by storage/embed_migrations.cmake. */\n"
  "#include \"storage/migrations.h\"\n\n${body}\n"
  "const eim_migration_t eim_migrations[] = {\n${table}    {0, 0, 0}};\n"
  "const size_t eim_migration_count = ${count};\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
