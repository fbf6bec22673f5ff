-- +goose Up
-- The administrators' user search (a substring of the username or email)
-- cannot seek in any B-tree, but it can read this narrow covering index
-- instead of the table: the count and the page's ids come from the index
-- alone, and the page walks it in username order (store.SearchUsers).
CREATE INDEX users_search ON users(username, email, id);

-- +goose Down
DROP INDEX users_search;
