// Package sizebudget judges a new version's compressed size per platform
// against its size budget (maxSize, maxGrowth, policy.maxGrowth; see
// docs/size-budgets.md) and names the largest packages it added or grew,
// from the SBOMs of the new version and of the version it supersedes.
//
// Judge and the Verdict's rendering are pure: sizes and package lists in,
// verdict and message out. Gate is the thin adapter publish calls after a
// build: it reads both versions through a Reader (pkg/inventory) and
// judges. A version over budget is an *OverBudgetError, which publish
// treats like a failed test; with plan.SizeBudget.AllowGrowth it is let
// through and the verdict says it was overridden.
//
// It must not write to a registry, move tags, or decide what is built;
// it knows the plan only as the step it is handed.
package sizebudget
