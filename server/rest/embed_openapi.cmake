# Generates a C file embedding server/rest/openapi.json (served at
# GET /openapi.json), so the binary carries its own contract.
# Invoked with -DINPUT=... -DOUTPUT=...
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
  "/* Generated from server/rest/openapi.json by server/rest/embed_openapi.cmake. */\n"
  "#include \"server/rest/rest_api.h\"\n\n"
  "const char eim_rest_openapi_json[] = {${bytes}0};\n"
  "const size_t eim_rest_openapi_json_len = ${len};\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
