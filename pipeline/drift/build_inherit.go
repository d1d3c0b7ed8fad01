package drift

// Inherit fills what c leaves unset (zero Bins and MaxCategories, nil
// Categorical) from the drift settings dc: streamscore baseline takes
// drift.bins, drift.max_categories and drift.categorical where its flags
// leave them out.
func (c *BuildConfig) Inherit(dc Config) {
	if c.Bins == 0 {
		c.Bins = dc.Bins
	}
	if c.MaxCategories == 0 {
		c.MaxCategories = dc.MaxCategories
	}
	if c.Categorical == nil {
		c.Categorical = dc.Categorical
	}
}
