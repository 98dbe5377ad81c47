package stream

// Kick ends the publication from outside its ingest, as a takeover does:
// it calls the kick function given to Publish (once), which ends the
// ingest connection; that then closes the publication. A cluster uses it
// when a publisher on another node takes the stream over, and an edge to
// end the publication its pulls feed.
func (p *Publication) Kick() { p.kickOnce() }
