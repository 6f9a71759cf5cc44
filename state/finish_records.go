package state

import bolt "go.etcd.io/bbolt"

// FinishFolderWith is PutMessages of recs followed by FinishFolder, in one
// transaction: a folder's last records and its finished state cost one
// commit (and one fdatasync) instead of two, and the folder is never
// saved as finished without them. The totals include recs.
func (s *Store) FinishFolderWith(email string, f FolderState, folder string, recs []MessageRecord) (FolderState, error) {
	var out FolderState
	err := s.db.Batch(func(tx *bolt.Tx) (err error) {
		if len(recs) > 0 {
			if err := putMessagesTx(tx, email, folder, recs); err != nil {
				return err
			}
		}
		out, err = s.finishFolderTx(tx, email, f)
		return err
	})
	return out, err
}
