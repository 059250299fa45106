enum _PlaceholderSluiceKinesis {}
