/*
 * test_bench_smoke.c: syncbench and its SyncManager script still run and
 * report every workload against every system, with tiny parameters.  No
 * timing is asserted (figures come from the benchmark itself, see
 * bench/README.md); what is asserted is that each requested row exists, is
 * valid, W3 kept mutual exclusion, the server CPU per operation was read,
 * and the ratio columns are computed against the right reference.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *run_capture(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    size_t n;

    cr_assert_not_null(f, "popen %s", cmd);
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    *status = pclose(f);
    return buf;
}

static json_t *find_row(json_t *results, const char *mode, const char *wl,
                        const char *sys)
{
    size_t i;
    json_t *r;

    json_array_foreach(results, i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "mode")), mode) &&
            !strcmp(json_string_value(json_object_get(r, "workload")), wl) &&
            !strcmp(json_string_value(json_object_get(r, "system")), sys))
            return r;
    }
    return NULL;
}

Test(bench, syncbench_reports_every_row, .timeout = 120)
{
    static const char *const modes[] = {"pinned", "unpinned"};
    static const char *const wls[] = {"W1", "W2", "W3", "W3x64", "W4", "W5"};
    static const char *const syss[] = {"syncd", "floor", "shm-pthread",
                                       "posix-sem"};
    int status;
    char *out = run_capture(
        SYNCBENCH_BIN " --json --reps 2 --w1-pairs 200 --w3-seconds 0.1 "
        "--s1-clients 100 --s2-objects 2000 "
        "--systems syncd,floor,shm-pthread,posix-sem 2>/dev/null", &status);
    json_error_t err;
    json_t *doc = json_loads(out, 0, &err), *results, *r;

    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "syncbench status %d", status);
    cr_assert_not_null(doc, "JSON: %s at line %d", err.text, err.line);
    results = json_object_get(doc, "results");
    cr_assert(json_is_array(results));
    for (int m = 0; m < 2; m++)
        for (size_t w = 0; w < sizeof(wls) / sizeof(*wls); w++)
            for (size_t s = 0; s < sizeof(syss) / sizeof(*syss); s++) {
                const char *note;

                r = find_row(results, modes[m], wls[w], syss[s]);
                cr_assert_not_null(r, "%s %s %s missing", modes[m], wls[w],
                                   syss[s]);
                note = json_string_value(json_object_get(r, "note"));
                cr_assert(json_is_true(json_object_get(r, "valid")),
                          "%s %s %s: %s", modes[m], wls[w], syss[s], note);
                cr_assert_gt(json_number_value(json_object_get(r, "median")),
                             0);
                if (!strcmp(syss[s], "floor"))
                    cr_assert_float_eq(
                        json_number_value(json_object_get(r, "x_floor")), 1.0,
                        1e-9);
                /* syncd and the floor share processes where paired. */
                if (s < 2 && (wls[w][1] == '1' || wls[w][1] == '2' ||
                              wls[w][1] == '5'))
                    cr_assert_not_null(strstr(note, "taking turns"), "%s",
                                       note);
                if (wls[w][1] == '3') {
                    cr_assert_not_null(strstr(note, "counter consistent"),
                                       "%s", note);
                    if (s < 2) /* syncd and floor have a server */
                        cr_assert_gt(json_number_value(json_object_get(
                                         r, "server_cpu_us_per_op")),
                                     0, "%s %s", wls[w], syss[s]);
                }
            }
    for (int m = 0; m < 2; m++) {
        r = find_row(results, modes[m], "S1", "syncd");
        cr_assert(r && json_is_true(json_object_get(r, "valid")));
        cr_assert_not_null(strstr(json_string_value(json_object_get(r, "note")),
                                  "100 idle clients connected"));
        /* S1 is compared with W2's floor. */
        cr_assert(json_is_number(json_object_get(r, "x_floor")));
    }
    r = find_row(results, "unpinned", "S2", "syncd");
    cr_assert(r && json_is_true(json_object_get(r, "valid")));
    /* 2,000 objects: RSS grows by pages, so only a loose bound holds. */
    cr_assert_lt(json_number_value(json_object_get(r, "median")), 64 * 1024.0);
    json_decref(doc);
    free(out);
}

Test(bench, syncmanager_script_reports_every_workload, .timeout = 120)
{
    static const char *const wls[] = {"W1", "W2", "W3", "W3x64", "W4", "W5"};
    int status;
    char *out;

    if (system("python3 -c 'import multiprocessing.managers' "
               ">/dev/null 2>&1") != 0)
        cr_skip_test("python3 with multiprocessing is not installed");
    out = run_capture("python3 '" SYNCBENCH_PY "' --reps 1 --w1 50 --w2 50 "
                      "--w3-seconds 0.1 --w4-procs 2 --w4-threads 5 --w5 20",
                      &status);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "script status %d:\n%s", status, out);
    for (size_t w = 0; w < sizeof(wls) / sizeof(*wls); w++) {
        char key[32], line[512], *at;
        double med, tail;

        snprintf(key, sizeof(key), "RESULT %s ", wls[w]);
        at = strstr(out, key);
        cr_assert_not_null(at, "no %s in:\n%s", key, out);
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(at, "\n"), at);
        cr_assert_eq(sscanf(line + strlen(key), "%lf %lf", &med, &tail), 2);
        cr_assert_gt(med, 0, "%s", line);
        if (wls[w][1] == '3')
            cr_assert(strstr(line, " consistent") != NULL, "%s", line);
    }
    free(out);
}
