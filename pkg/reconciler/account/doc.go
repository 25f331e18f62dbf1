// Package account runs the lifecycle of accounts: it initializes a new account (its default
// namespace, its entry in the index) and marks it Ready, and on deletion removes the account's
// descendants bottom-up and then its content before it releases the Account object.
//
// It talks to the API only through clients, like any external controller; it must not touch
// storage directly.
package account
