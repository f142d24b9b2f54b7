/* Hand-built Routing plugins for the policy-table tests. */
#ifndef SY_TEST_POLICY_FIXTURE_H
#define SY_TEST_POLICY_FIXTURE_H

#include "router/policy.h"
#include "router/expr_fixture.h"

typedef struct pfx {
    sy_plugin_cfg p;
    sy_policy_cfg pol[64];
} pfx;

static inline void pfx_init(pfx *x, const char *id)
{
    memset(x, 0, sizeof(*x));
    x->p.id = (char *)id;
    x->p.type = (char *)"Routing";
    x->p.policies = x->pol;
}

/* Policies are numbered by creation: seq = position. */
static inline void pfx_add(pfx *x, const char *name, int weight, const char *cond)
{
    sy_policy_cfg *pc = &x->pol[x->p.n_policies];
    pc->name = (char *)name;
    pc->weight = weight;
    pc->condition = (char *)cond;
    pc->seq = (unsigned)x->p.n_policies;
    pc->mark = (sy_mark){10 + (int)x->p.n_policies * 5, 5};
    pc->cond_mark = (sy_mark){12 + (int)x->p.n_policies * 5, 18};
    x->p.n_policies++;
}

#endif
