/* SPDX-License-Identifier: MIT */
/*
 * Purchase models for customer value: BG/NBD (will they buy again, and how
 * often), Gamma-Gamma (how much per order), their maximum-likelihood fits and
 * a heuristic fallback for stores with too little history. Pure: summaries in,
 * numbers out; building the summaries from orders is the caller's job. Every
 * function may be called from any thread; run one fit at a time (clv.c XXX).
 */
#ifndef TRACKSIES_CLV_H
#define TRACKSIES_CLV_H

#include <stdbool.h>
#include <stddef.h>

#include "tracksies/rc.h"

/* The "next 12 months" of the predicted value, in weeks. */
#define CLV_HORIZON_WEEKS 52.0
/* Fewer customers with a repeat purchase than this: use the fallback. */
#define CLV_MIN_REPEAT_CUSTOMERS 30
/* Fallback's typical gap when no customer has a repeat purchase. */
#define CLV_FALLBACK_GAP_WEEKS 26.0
/* Floor of the fallback's gaps, so same-week repeats do not decay at once. */
#define CLV_FALLBACK_MIN_GAP_WEEKS 1.0

/*
 * One customer's calibration summary. Time is in weeks since the customer's
 * first purchase; purchases on one day count as one transaction.
 */
struct clv_customer {
	double x;	/* repeat transactions (the first is not counted), integral >= 0 */
	double t_x;	/* time of the last repeat transaction (ignored when x == 0) */
	double T;	/* age: first purchase to the end of calibration, >= t_x */
	double m_x;	/* mean value of the x repeat transactions, 0 when x == 0 */
};

/*
 * BG/NBD: purchase rate lambda ~ Gamma(shape r, rate alpha) per week; after
 * each repeat purchase the customer drops out with probability p ~ Beta(a, b).
 * alpha is in weeks; r, a, b have no unit.
 */
struct clv_bgnbd {
	double r, alpha, a, b;
	double loglik;		/* at the fitted parameters, over all customers */
	int iterations;		/* Nelder-Mead iterations, all restarts together */
	int restarts;
	bool converged;		/* stopped on tolerance, parameters within [1e-8, 1e8] */
};

/*
 * Gamma-Gamma: a transaction's value ~ Gamma(shape p, rate nu), nu ~
 * Gamma(shape q, rate gamma) across customers. gamma is in money units.
 */
struct clv_gg {
	double p, q, gamma;
	double loglik;
	int iterations;
	int restarts;
	bool converged;
	size_t n_used;		/* customers with x >= 1 and m_x > 0 */
};

/*
 * The fallback's population constants (see docs/intelligence-models.md).
 * gap_weeks is sum(t_x) / sum(x) over repeat buyers, floored at
 * CLV_FALLBACK_MIN_GAP_WEEKS, or CLV_FALLBACK_GAP_WEEKS with none. spend is
 * the transaction-weighted mean repeat value, 0 with no repeat buyer: the
 * caller may overwrite it (say, with the mean order value of all orders).
 */
struct clv_fallback {
	double gap_weeks;
	double spend;
	size_t n_repeat;	/* customers with x >= 1 */
};

/* Everything clv_fit learned. Each model is used only when its _ok is set. */
struct clv_model {
	struct clv_bgnbd bgnbd;
	struct clv_gg gg;
	struct clv_fallback fallback;
	bool bgnbd_ok;
	bool gg_ok;
};

struct clv_prediction {
	double p_alive;
	double expected_transactions;	/* in the next t_weeks */
	double expected_spend;		/* per future transaction */
	double value;			/* product of the two, undiscounted */
	bool transactions_from_model;	/* false: fallback formulas */
	bool spend_from_model;
};

/*
 * Fit BG/NBD to c[0..n-1] by maximum likelihood (Nelder-Mead on the log
 * parameters, restarted from the best point until it stops improving;
 * deterministic). Customers with equal (x, t_x, T) are evaluated once. The
 * result, including converged == false, is in *out on TS_OK. TS_ERR_INVALID
 * when n == 0 or n > 2^32 - 1, no customer has x >= 1 (the model is not
 * identified) or a summary is malformed (non-finite, x not an integer in
 * [0, 1e9], t_x outside [0, T], m_x < 0). TS_ERR_NOMEM.
 */
enum ts_rc clv_fit_bgnbd(const struct clv_customer *c, size_t n,
    struct clv_bgnbd *out);

/*
 * Fit Gamma-Gamma over the customers with x >= 1 and m_x > 0 (others are
 * skipped: a zero-value average cannot come from a gamma). Same procedure
 * and return codes as clv_fit_bgnbd; TS_ERR_INVALID also when no customer
 * is usable or an m_x is negative.
 */
enum ts_rc clv_fit_gamma_gamma(const struct clv_customer *c, size_t n,
    struct clv_gg *out);

/* Fallback constants from c[0..n-1]. TS_ERR_INVALID as clv_fit_bgnbd. */
enum ts_rc clv_fallback_fit(const struct clv_customer *c, size_t n,
    struct clv_fallback *out);

/*
 * All three at once. TS_OK also when a model could not be used (fewer than
 * CLV_MIN_REPEAT_CUSTOMERS repeat buyers, no convergence, Gamma-Gamma q <= 1):
 * its _ok flag is false and predictions fall back; so also for a store
 * without a single repeat buyer. TS_ERR_INVALID for n == 0 or a malformed
 * summary (as clv_fit_bgnbd), TS_ERR_NOMEM.
 */
enum ts_rc clv_fit(const struct clv_customer *c, size_t n, struct clv_model *out);

/*
 * Predict for one customer over the next t_weeks (CLV_HORIZON_WEEKS for the
 * 12-month value), using each fitted model whose _ok is set and the fallback
 * otherwise or where the model's number is not finite. TS_ERR_INVALID for a
 * malformed summary or t_weeks < 0.
 */
enum ts_rc clv_predict(const struct clv_model *m, const struct clv_customer *c,
    double t_weeks, struct clv_prediction *out);

/* BG/NBD log-likelihood of c[0..n-1], customer by customer. */
double clv_bgnbd_loglik(const struct clv_bgnbd *m, const struct clv_customer *c,
    size_t n);

/* Gamma-Gamma log-likelihood over the customers clv_fit_gamma_gamma uses. */
double clv_gg_loglik(const struct clv_gg *g, const struct clv_customer *c,
    size_t n);

/*
 * P(alive | x, t_x, T). 1 when x == 0: in BG/NBD a customer can only drop
 * out right after a repeat purchase, so one who never came back is alive.
 * NaN unless x >= 0 and 0 <= t_x <= T. The same holds for E[Y(t)] and for
 * the fallback's P(alive) and E[Y(t)]; both E[Y(t)] also need t >= 0.
 */
double clv_p_alive(const struct clv_bgnbd *m, double x, double t_x, double T);

/*
 * E[Y(t) | x, t_x, T]: transactions expected in (T, T + t]. NaN outside
 * clv_hyp2f1's domain (not met by realistic summaries).
 */
double clv_expected_transactions(const struct clv_bgnbd *m, double t, double x,
    double t_x, double T);

/*
 * E[M | x, m_x]: expected value of this customer's future transactions. For
 * x == 0 the population mean p gamma / (q - 1) (NaN when q <= 1).
 */
double clv_expected_spend(const struct clv_gg *g, double x, double m_x);

/* The fallback's P(alive), transactions in the next t weeks and spend. */
double clv_fallback_p_alive(const struct clv_fallback *f, double x, double t_x,
    double T);
double clv_fallback_expected_transactions(const struct clv_fallback *f, double t,
    double x, double t_x, double T);
double clv_fallback_expected_spend(const struct clv_fallback *f, double x,
    double m_x);

/*
 * Gauss's hypergeometric function 2F1(a, b; c; z) for real z < 1 (z == 1
 * when c - a - b > 0). Sums the series for 0 <= z <= 0.75 (z < 0 is first
 * mapped into (0, 1) by Pfaff's transformation) and uses the 1 - z
 * connection formula above 0.75; near an integer c - a - b that formula is
 * interpolated in c (relative error about 1e-9, else about 1e-12).
 * Terminating series (a or b a non-positive integer) are summed exactly. NaN
 * for z > 1, c a non-positive integer, or a series not converging in 100000
 * terms (huge parameters).
 */
double clv_hyp2f1(double a, double b, double c, double z);

#endif
