//! The authorize target: the bytes are the query string of `GET /identity/connect/authorize`
//! (or, the same, a POST's form body), read as the server reads it (`oidc::authorize`:
//! form-url-decoded, repeats kept), then answered by `Provider::authorize` twice: for a
//! browser signed in to the tenant (so that codes and tokens are issued) and for one that is
//! not. The answer is rendered as the handler renders it.

use gatehouse_provider::authorize::Authorize;
use gatehouse_provider::params::Params;

use crate::world::world;

pub fn authorize(data: &[u8]) {
    let world = world();
    let params = Params::new(url::form_urlencoded::parse(data).into_owned().collect());
    world.block_on(async {
        for session in [Some(&world.session), None] {
            match world.provider.authorize(&params, session).await {
                Ok(Authorize::Respond(answer)) => {
                    std::hint::black_box(answer.location());
                }
                Ok(Authorize::Login { return_to, .. }) => {
                    // The sign-in page names the client of the request it returns to.
                    std::hint::black_box(world.provider.requesting_client(&return_to).await);
                }
                Ok(Authorize::Refuse(_)) | Err(_) => {}
            }
        }
    });
}
