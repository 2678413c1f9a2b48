/*
 * json_fields.h: the fields of syncctl's --json output a test reads, as
 * Criterion assertions (a missing or mistyped field fails the test with
 * its name).  For tests that link jansson.
 */
#ifndef SYNCD_TEST_JSON_FIELDS_H
#define SYNCD_TEST_JSON_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include <criterion/criterion.h>

static inline json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    bool ok = json_is_integer(v);

    cr_assert(ok, "no integer '%s'", key);
    return json_integer_value(v);
}

static inline const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    bool ok = json_is_string(v);

    cr_assert(ok, "no string '%s'", key);
    return json_string_value(v);
}

#endif
