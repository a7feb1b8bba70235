// response_mode=form_post: the response goes to the service at once; the
// button on the page does the same without JavaScript.
document.getElementById('form-post').submit();
