/*
 * criterion_lsan.c: compiled into a test executable (not a library, so
 * the linker always keeps it) whose Criterion runner would otherwise fail
 * it under LeakSanitizer.
 */
/*
 * Criterion 2.4.1's runner process (not a test) leaks a few 48-byte
 * records inside criterion_run_all_tests() when tests of different lengths
 * run in parallel (--jobs), and LeakSanitizer then fails the binary.
 * Suppress exactly those: allocations made under criterion_run_all_tests,
 * which a test body never runs under (tests run in boxfort workers, whose
 * stacks start at the worker's own entry).  Matching that frame needs the
 * full unwinder, as libcriterion has no frame pointers.  These hooks only
 * affect this test binary, never syncd.
 */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:criterion_run_all_tests\n";
}

const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}
