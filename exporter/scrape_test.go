package exporter

import (
	"net/http"
	"testing"

	"github.com/lagwatch/lagwatch/internal/scrapetest"
)

type series = scrapetest.Series

func scrape(t testing.TB, metrics http.Handler) series { return scrapetest.Scrape(t, metrics) }

func scrapeBody(t testing.TB, metrics http.Handler) string { return scrapetest.ScrapeBody(t, metrics) }

var key = scrapetest.Key
