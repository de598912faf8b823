package main

import (
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/toolchain"
)

// Database settings of the tests' PostgreSQL service.
const (
	dbAlias = "postgres"
	dbPort  = "5432"
	dbName  = "app_test"
	dbUser  = "app"
)

// postgresService returns PostgreSQL as a Dagger service. With a password,
// its superuser's password is the secret; without one, it trusts every
// connection: it is reachable only on the private network of the containers
// it is bound to, and no password is made up (nor sent to the engine).
func (m *Pipeline) postgresService(password *dagger.Secret) *dagger.Service {
	ctr := dag.Container().
		From(toolchain.Image(m.ImageRegistry, m.PostgresImage)).
		WithEnvVariable("POSTGRES_USER", dbUser).
		WithEnvVariable("POSTGRES_DB", dbName)
	if password != nil {
		ctr = ctr.WithSecretVariable("POSTGRES_PASSWORD", password)
	} else {
		ctr = ctr.WithEnvVariable("POSTGRES_HOST_AUTH_METHOD", "trust")
	}
	return ctr.
		WithExposedPort(5432).
		AsService(dagger.ContainerAsServiceOpts{Args: []string{"postgres"}, UseEntrypoint: true})
}

// trustPlaceholder stands in for the password of a database that trusts
// every connection: tests and services that insist on a password get this
// text, which the database never checks. It is no credential.
const trustPlaceholder = "trust-auth-not-checked"

// withTestDatabase binds db as `postgres` and gives the tests TEST_DB_*
// (TEST_DB_PASSWORD the secret, or trustPlaceholder for a trusting database).
func withTestDatabase(ctr *dagger.Container, db *dagger.Service, password *dagger.Secret) *dagger.Container {
	ctr = ctr.
		WithServiceBinding(dbAlias, db).
		WithEnvVariable("TEST_DB_HOST", dbAlias).
		WithEnvVariable("TEST_DB_PORT", dbPort).
		WithEnvVariable("TEST_DB_NAME", dbName).
		WithEnvVariable("TEST_DB_USER", dbUser).
		WithEnvVariable("TEST_DB_SSLMODE", "disable")
	if password == nil {
		return ctr.WithEnvVariable("TEST_DB_PASSWORD", trustPlaceholder)
	}
	return ctr.WithSecretVariable("TEST_DB_PASSWORD", password)
}

// withServiceDatabase binds db as `postgres` and gives the service under
// test its database settings the way the manifests do: DB_HOST, DB_PORT,
// DB_NAME, DB_USER, DB_SSLMODE, and the password as a file named by
// DB_PASSWORD_FILE (the secret, or, for a trusting database, a placeholder
// the database never checks).
func withServiceDatabase(ctr *dagger.Container, db *dagger.Service, password *dagger.Secret) *dagger.Container {
	const pwFile = "/run/secrets/db-password" //nolint:gosec // a mount path, not a credential
	ctr = ctr.
		WithServiceBinding(dbAlias, db).
		WithEnvVariable("DB_HOST", dbAlias).
		WithEnvVariable("DB_PORT", dbPort).
		WithEnvVariable("DB_NAME", dbName).
		WithEnvVariable("DB_USER", dbUser).
		WithEnvVariable("DB_SSLMODE", "disable").
		WithEnvVariable("DB_PASSWORD_FILE", pwFile)
	if password != nil {
		return ctr.WithMountedSecret(pwFile, password, dagger.ContainerWithMountedSecretOpts{Owner: "65532:65532"})
	}
	return ctr.WithNewFile(pwFile, trustPlaceholder+"\n", dagger.ContainerWithNewFileOpts{Permissions: 0o444})
}

// withOptionalSecret sets the environment variable name from secret when given.
func withOptionalSecret(ctr *dagger.Container, name string, secret *dagger.Secret) *dagger.Container {
	if secret == nil {
		return ctr
	}
	return ctr.WithSecretVariable(name, secret)
}
