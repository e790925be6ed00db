// JSON routing fields found natively (json_fields.c): registers jsonFields on the addon's exports.
#ifndef LOGSHIP_JSON_FIELDS_H
#define LOGSHIP_JSON_FIELDS_H
#include <node_api.h>
void json_fields_register(napi_env env, napi_value exports);
#endif
