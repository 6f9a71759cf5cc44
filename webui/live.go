package webui

import (
	"net/http"
)

// liveBatches refreshes the batches page.
func (c *Console) liveBatches(r *http.Request) (any, error) {
	views, err := c.eng.Batches()
	if err != nil {
		return nil, err
	}
	l := newLive(c.now())
	for _, v := range views {
		row := c.batchRow(v, false)
		l.add("b:"+v.Name+":", row.F, row.C)
		l.V["b:"+v.Name+":pct"] = row.Pct
	}
	return l, nil
}

// liveBatch refreshes a batch page: the batch, its chart and the rows of
// the page the browser shows (same query).
func (c *Console) liveBatch(r *http.Request) (any, error) {
	row, table, err := c.batchUsers(r.PathValue("name"), r.URL.Query())
	if err != nil {
		return nil, err
	}
	l := newLive(c.now())
	p := "b:" + row.V.Name + ":"
	l.add(p, row.F, row.C)
	l.V[p+"pct"] = row.Pct
	l.D[p+"chart-items"], l.D[p+"chart-bytes"] = row.Chart.Items, row.Chart.Bytes
	l.T[p+"chart-items-max"], l.T[p+"chart-bytes-max"] = row.Chart.ItemsMax, row.Chart.BytesMax
	l.T[p+"chart-span"] = row.Chart.Span
	for _, u := range table.Rows {
		f, cl := userFigures(u)
		l.add("u:"+u.EmailAddress+":", f, cl)
	}
	return l, nil
}

// liveUser refreshes a user page.
func (c *Console) liveUser(r *http.Request) (any, error) {
	u, err := c.eng.User(r.PathValue("email"))
	if err != nil {
		return nil, err
	}
	l := newLive(c.now())
	f, cl := userFigures(u)
	l.add("u:"+u.EmailAddress+":", f, cl)
	return l, nil
}
