package readmodel_test

import (
	"github.com/imgctl/imgctl/pkg/plan"
	"github.com/imgctl/imgctl/pkg/readmodel"
	"github.com/imgctl/imgctl/pkg/status"
)

// Remote serves the reads of both consumers.
var (
	_ plan.Registry         = readmodel.Remote{}
	_ plan.PlatformResolver = readmodel.Remote{}
	_ status.Registry       = readmodel.Remote{}
)
