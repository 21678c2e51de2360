/* SPDX-License-Identifier: MIT */
/* White-box tests of the shared handle skeleton: handle base, outbox,
 * ready sequence and RNG (src/common/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "common/handle.h"
#include "common/outbox.h"
#include "common/rand.h"
#include "internal.h"
#include "test_alloc.h"

static void handle_fail_sets_message_and_returns_code(void **state)
{
    (void)state;
    ut__handle_t h;
    ut__handle_init(&h, 0x1234u);
    assert_true(ut__handle_valid(&h, 0x1234u));
    assert_false(ut__handle_valid(&h, 0x4321u));
    assert_false(ut__handle_valid(NULL, 0x1234u));
    assert_string_equal(ut__handle_errmsg(&h, 0x1234u), "no error");
    assert_int_equal(ut__handle_fail(&h, UT_EINVAL, "step: %s %d", "bad", 7), UT_EINVAL);
    assert_string_equal(ut__handle_errmsg(&h, 0x1234u), "step: bad 7");
    assert_string_equal(ut__handle_errmsg(&h, 0x9999u), "invalid handle");
    ut__handle_retire(&h);
    assert_false(ut__handle_valid(&h, 0x1234u));
    /* An over-long message is cut, never overflows. */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ut__handle_init(&h, 1);
    ut__handle_fail(&h, UT_EINVAL, "%s", big);
    assert_int_equal(strlen(h.errmsg), UT__HANDLE_ERRMSG_SIZE - 1);
}

static void outbox_pointers_survive_until_release(void **state)
{
    (void)state;
    ut__outbox_t ob;
    ut__outbox_init(&ob);
    const void *copies[100];
    char buf[64];
    for (int i = 0; i < 100; i++) {
        ut_msg_t *m = ut__outbox_push(&ob, UT_MSG_VOTE, 1, (uint64_t)i + 2);
        assert_non_null(m);
        snprintf(buf, sizeof buf, "payload-%03d-%0*d", i, 40, i);
        copies[i] = ut__outbox_copy(&ob, buf, strlen(buf) + 1);
        assert_non_null(copies[i]);
    }
    ut_msg_t *msgs;
    size_t n;
    ut__outbox_take(&ob, &msgs, &n);
    assert_int_equal(n, 100);
    /* Pushing into the new live buffer must not move the handed-out one. */
    char filler[40];
    memset(filler, 'z', sizeof filler);
    for (int i = 0; i < 200; i++) {
        assert_non_null(ut__outbox_push(&ob, UT_MSG_APPEND, 1, 9));
        assert_non_null(ut__outbox_copy(&ob, filler, sizeof filler));
    }
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof buf, "payload-%03d-%0*d", i, 40, i);
        assert_string_equal((const char *)copies[i], buf);
        assert_int_equal(msgs[i].to, (uint64_t)i + 2);
        assert_int_equal(msgs[i].type, UT_MSG_VOTE);
    }
    ut__outbox_release(&ob);
    ut__outbox_take(&ob, &msgs, &n);
    assert_int_equal(n, 200);
    ut__outbox_release(&ob);
    ut__outbox_take(&ob, &msgs, &n);
    assert_int_equal(n, 0);
    assert_null(msgs);
    ut__outbox_destroy(&ob);
    ut__outbox_destroy(&ob); /* idempotent */
}

static void outbox_push_zeroes_whole_message(void **state)
{
    (void)state;
    ut__outbox_t ob;
    ut__outbox_init(&ob);
    ut_msg_t *m = ut__outbox_push(&ob, UT_MSG_VOTE, 1, 2);
    memset(m, 0xab, sizeof *m);
    ut__outbox_pop(&ob);
    m = ut__outbox_push(&ob, UT_MSG_VOTE, 1, 2);
    const unsigned char *p = (const unsigned char *)&m->body;
    for (size_t i = 0; i < sizeof m->body; i++)
        assert_int_equal(p[i], 0);
    ut__outbox_destroy(&ob);
}

static void outbox_enomem_leaves_it_unchanged(void **state)
{
    (void)state;
    ut__outbox_t ob;
    ut__outbox_init(&ob);
    assert_non_null(ut__outbox_push(&ob, UT_MSG_VOTE, 1, 2));
    test_alloc_t t;
    test_alloc_install(&t, 1);
    assert_int_equal(ut__outbox_reserve(&ob, 1000, 0), UT_ENOMEM);
    test_alloc_install(&t, 1);
    assert_null(ut__outbox_copy(&ob, "abc", 3));
    test_alloc_uninstall();
    assert_int_equal(ut__outbox_pending(&ob), 1);
    ut__outbox_destroy(&ob);
}

static void readyseq_empty_needs_no_advance(void **state)
{
    (void)state;
    ut__readyseq_t r = {0};
    uint64_t s0 = ut__readyseq_hand_out(&r, true);
    assert_false(ut__readyseq_busy(&r));
    assert_int_equal(ut__readyseq_advance(&r, s0, true), 0);
    uint64_t s1 = ut__readyseq_hand_out(&r, false);
    assert_true(ut__readyseq_busy(&r));
    assert_int_equal(ut__readyseq_advance(&r, s0, true), UT_EINVAL);
    assert_int_equal(ut__readyseq_advance(&r, s1, false), 1);
    assert_false(ut__readyseq_busy(&r));
    assert_int_equal(ut__readyseq_advance(&r, s1, false), UT_EINVAL); /* twice */
}

static void rand_is_deterministic_and_bounded(void **state)
{
    (void)state;
    uint64_t a = ut__rand_seed(42, 1), b = ut__rand_seed(42, 1), c = ut__rand_seed(42, 2);
    uint64_t xa = ut__rand_next(&a);
    assert_int_equal(xa, ut__rand_next(&b));
    assert_int_not_equal(xa, ut__rand_next(&c));
    for (int i = 0; i < 1000; i++)
        assert_true(ut__rand_below(&a, 7) < 7);
    assert_int_equal(ut__rand_below(&a, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handle_fail_sets_message_and_returns_code),
        cmocka_unit_test(outbox_pointers_survive_until_release),
        cmocka_unit_test(outbox_push_zeroes_whole_message),
        cmocka_unit_test(outbox_enomem_leaves_it_unchanged),
        cmocka_unit_test(readyseq_empty_needs_no_advance),
        cmocka_unit_test(rand_is_deterministic_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
