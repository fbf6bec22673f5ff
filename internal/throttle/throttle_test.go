package throttle

import (
	"testing"
	"time"
)

func TestWaitGrowsAfterFreeFailuresAndIsCapped(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {10, 32 * time.Second},
		{14, 512 * time.Second}, {15, MaxWait}, {100, MaxWait}, {1 << 30, MaxWait},
	}
	for _, tt := range tests {
		if got := Wait(tt.n); got != tt.want {
			t.Errorf("Wait(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestHumanWait(t *testing.T) {
	tests := map[int]string{1: "1 second", 30: "30 seconds", 60: "1 minute", 61: "2 minutes", 900: "15 minutes"}
	for secs, want := range tests {
		if got := humanWait(secs); got != want {
			t.Errorf("humanWait(%d) = %q, want %q", secs, got, want)
		}
	}
}
