/* Linked into the release wheel's _core by .ci/wheel (never into a source build), so that a
 * wheel compiled here on a new glibc still loads on manylinux_2_28 systems (glibc 2.28).
 *
 * The extension links libstdc++ statically (its GLIBCXX_3.4.29 / CXXABI_1.3.13 symbols are
 * newer than any manylinux_2_28 system has). What is left of a new glibc is a few symbols,
 * from our code, pybind11's headers or the static libstdc++; each is bound here, with hidden
 * visibility, so that the extension resolves them to these and exports none of them:
 *
 *  - log, pow (and exp, exp2, log2, which the code may come to call): glibc 2.29 gave them a
 *    new default version (the same computation without the SVID error wrapper). Forwarding to
 *    the GLIBC_2.2.5 version, which every glibc has, calls the same implementation: the results
 *    do not change by a bit (4 million random inputs each, NaN, inf and subnormals among them,
 *    gave identical bits on glibc 2.36; tests/test_digests.py runs against the wheel).
 *  - pthread_once, pthread_key_create, pthread_key_delete, pthread_getspecific,
 *    pthread_setspecific: versioned GLIBC_2.34 since libpthread moved into libc; each
 *    GLIBC_2.2.5 version is the same function (the same address in glibc 2.36's libc). The
 *    keys come with the static libstdc++'s std::condition_variable (its
 *    notify_all_at_thread_exit), which the thread team's sleeping workers use (csrc/team.h).
 *  - __libc_single_threaded (glibc 2.32), read by libstdc++'s reference counts to skip atomic
 *    operations in a single-threaded process: kept 0 here, so they are always atomic (correct
 *    in any process, a few nanoseconds slower where a count changes).
 *  - arc4random (glibc 2.36), reached by std::random_device only (pulled in with the static
 *    libstdc++'s string instantiations; nnfast never calls it): served from getentropy
 *    (glibc 2.25).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define NNFAST_HIDDEN __attribute__((visibility("hidden")))

extern double nnfast_exp_2_2_5(double);
extern double nnfast_exp2_2_2_5(double);
extern double nnfast_log_2_2_5(double);
extern double nnfast_log2_2_2_5(double);
extern double nnfast_pow_2_2_5(double, double);
extern int nnfast_pthread_once_2_2_5(pthread_once_t *, void (*)(void));
extern int nnfast_pthread_key_create_2_2_5(pthread_key_t *, void (*)(void *));
extern int nnfast_pthread_key_delete_2_2_5(pthread_key_t);
extern void *nnfast_pthread_getspecific_2_2_5(pthread_key_t);
/* access(none, 2): glibc's own declaration says the value is stored, never read */
extern int nnfast_pthread_setspecific_2_2_5(pthread_key_t, const void *)
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
    __attribute__((access(none, 2)))
#endif
    ;
__asm__(".symver nnfast_exp_2_2_5, exp@GLIBC_2.2.5");
__asm__(".symver nnfast_exp2_2_2_5, exp2@GLIBC_2.2.5");
__asm__(".symver nnfast_log_2_2_5, log@GLIBC_2.2.5");
__asm__(".symver nnfast_log2_2_2_5, log2@GLIBC_2.2.5");
__asm__(".symver nnfast_pow_2_2_5, pow@GLIBC_2.2.5");
__asm__(".symver nnfast_pthread_once_2_2_5, pthread_once@GLIBC_2.2.5");
__asm__(".symver nnfast_pthread_key_create_2_2_5, pthread_key_create@GLIBC_2.2.5");
__asm__(".symver nnfast_pthread_key_delete_2_2_5, pthread_key_delete@GLIBC_2.2.5");
__asm__(".symver nnfast_pthread_getspecific_2_2_5, pthread_getspecific@GLIBC_2.2.5");
__asm__(".symver nnfast_pthread_setspecific_2_2_5, pthread_setspecific@GLIBC_2.2.5");

NNFAST_HIDDEN double exp(double x) { return nnfast_exp_2_2_5(x); }

NNFAST_HIDDEN double exp2(double x) { return nnfast_exp2_2_2_5(x); }

NNFAST_HIDDEN double log(double x) { return nnfast_log_2_2_5(x); }

NNFAST_HIDDEN double log2(double x) { return nnfast_log2_2_2_5(x); }

NNFAST_HIDDEN double pow(double x, double y) { return nnfast_pow_2_2_5(x, y); }

NNFAST_HIDDEN int pthread_once(pthread_once_t *once, void (*init)(void)) {
  return nnfast_pthread_once_2_2_5(once, init);
}

NNFAST_HIDDEN int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  return nnfast_pthread_key_create_2_2_5(key, destructor);
}

NNFAST_HIDDEN int pthread_key_delete(pthread_key_t key) {
  return nnfast_pthread_key_delete_2_2_5(key);
}

NNFAST_HIDDEN void *pthread_getspecific(pthread_key_t key) {
  return nnfast_pthread_getspecific_2_2_5(key);
}

NNFAST_HIDDEN int pthread_setspecific(pthread_key_t key, const void *value) {
  return nnfast_pthread_setspecific_2_2_5(key, value);
}

NNFAST_HIDDEN char __libc_single_threaded = 0;

NNFAST_HIDDEN uint32_t arc4random(void) {
  uint32_t r;
  if (getentropy(&r, sizeof r) != 0) abort(); /* as glibc's arc4random: it cannot fail */
  return r;
}
